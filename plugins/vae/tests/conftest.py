"""Shared helpers of the VAE tests: tiny run configs and the digits split."""

from __future__ import annotations

import copy
from typing import Any

import pytest

TINY: dict[str, Any] = {
    "model": {"name": "vae", "latent_dim": 4, "hidden": 32, "layers": 1},
    "data": {"name": "digits", "size": 8},
    "trainer": {"steps": 6, "batch_size": 32, "progress": False, "log_every": 2,
                "sample_every": 0, "checkpoint_every": 3},
}


def tiny_config(tmp_path: Any, name: str = "run", model: dict[str, Any] | None = None,
                **trainer: Any) -> dict[str, Any]:
    """The tiny config with ``out`` in tmp_path and model/trainer changes applied."""
    cfg = copy.deepcopy(TINY)
    cfg["out"] = str(tmp_path / name)
    cfg["model"].update(model or {})
    cfg["trainer"].update(trainer)
    return cfg


@pytest.fixture
def tiny(tmp_path: Any) -> Any:
    """``tiny(name, model={...}, **trainer)``: a tiny run config writing under tmp_path."""
    return lambda name="run", model=None, **trainer: tiny_config(tmp_path, name, model, **trainer)


@pytest.fixture(scope="session")
def digits() -> Any:
    """The 8x8 digits (train and held-out splits)."""
    from genforge.data.digits import DigitsConfig, load

    return load(DigitsConfig(size=8))
