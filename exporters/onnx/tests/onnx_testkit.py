"""Helpers of the genforge-onnx tests: tiny configs, family params, the PyTorch reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import genforge
from genforge_runtime.noise import NoiseStreams

FAMILIES = ("gan", "cgan", "vae", "cvae")
REGISTERED = set(genforge.Plugins().names("models"))
TINY_MODEL = {
    "gan": {"latent_dim": 8, "ngf": 8, "ndf": 8},
    "cgan": {"latent_dim": 8, "ngf": 8, "ndf": 8, "embed_dim": 4},
    "vae": {"latent_dim": 4, "hidden": 16, "layers": 1},
    "cvae": {"latent_dim": 4, "hidden": 16, "layers": 1, "embed_dim": 4},
    "cfm": {"hidden": 16, "layers": 1, "embed_dim": 8},  # an iterative model: its file holds a step graph
}
#: The data each tiny model trains on: 8x8 digits unless named here.
TINY_DATA = {"cfm": {"name": "toy2d"}}


def family_params(names: tuple[str, ...] = FAMILIES) -> list[Any]:
    """``names`` as pytest params, each skipped when its plugin is not installed."""
    return [pytest.param(n, marks=pytest.mark.skipif(n not in REGISTERED, reason=f"no {n!r} model "
                                                     "registered (plugin not installed)"))
            for n in names]


def train_tiny(name: str, out: Path) -> Path:
    """Train ``name`` for 2 steps on its ``TINY_DATA`` (8x8 digits); return the run folder."""
    data = TINY_DATA.get(name, {"name": "digits", "size": 8})
    cfg = {"model": {"name": name, **TINY_MODEL[name]}, "data": data,
           "trainer": {"steps": 2, "batch_size": 16, "progress": False, "sample_every": 0,
                       "checkpoint_every": 0}, "out": str(out / name)}
    genforge.train(cfg)
    return out / name


def torch_samples(model: Any, n: int, seed: int, labels: np.ndarray | None) -> np.ndarray:
    """What the exported graph should compute: the export module on the noise contract's z."""
    z = NoiseStreams(seed).latents(n, model.latent_dim)
    module = model.export_module()[0].eval()
    args = [torch.from_numpy(z)] + ([torch.from_numpy(labels)] if labels is not None else [])
    with torch.inference_mode():
        return module(*args).numpy()
