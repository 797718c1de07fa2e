"""Shared helpers of the flow tests: small flows with random (not identity) weights."""

from __future__ import annotations

import pytest
import torch

from genforge import DataInfo
from genforge_flow.config import FlowConfig
from genforge_flow.model import Flow


def randomise(module: torch.nn.Module, scale: float = 0.3, seed: int = 0) -> torch.nn.Module:
    """Overwrite every parameter with N(0, scale^2) noise (a freshly built flow is the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return module


@pytest.fixture(name="randomise")
def randomise_fixture():
    """The ``randomise(module, scale=0.3, seed=0)`` helper."""
    return randomise


@pytest.fixture
def small_flow():
    """``small_flow(shape, kind="vector", **config)``: a random, eval-mode flow without dropout."""

    def build(shape: tuple[int, ...], kind: str = "vector", scale: float = 0.3, **options) -> Flow:
        info = DataInfo(shape=shape, kind=kind, value_range=(0.0, 1.0) if kind == "image" else None)
        cfg = FlowConfig(**{"coupling_layers": 4, "hidden": 16, "dropout": 0.0, **options})
        return randomise(Flow(cfg, info), scale).eval()

    return build
