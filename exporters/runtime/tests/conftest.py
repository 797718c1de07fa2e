"""Toy genforge ONNX files for the runtime tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_testkit import make_model


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A conditional toy model (3 classes, latent 4, samples [N, 1, 2, 2])."""
    return make_model(tmp_path / "toy.onnx", conditional=True)


@pytest.fixture
def toy_uncond(tmp_path: Path) -> Path:
    """An unconditional toy model."""
    return make_model(tmp_path / "toy_uncond.onnx", conditional=False)
