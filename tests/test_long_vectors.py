"""Vectors longer than 2 (``[128]``) train every first-party family with its default settings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import genforge

FAMILIES = ["gan", "cgan", "vae", "cvae", "ddpm", "cddpm", "fm", "cfm"]


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> str:
    """A ``.npz`` of 96 noisy sines of 128 samples, three frequencies as three classes."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 96)
    t = np.arange(128) / 128
    x = np.sin(2 * np.pi * (y[:, None] + 1) * 4 * t + rng.uniform(0, 6.3, (96, 1)))
    x += 0.05 * rng.standard_normal(x.shape)
    path = tmp_path_factory.mktemp("vectors") / "v128.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    return str(path)


@pytest.mark.parametrize("model", FAMILIES)
def test_every_family_trains_on_128_sample_vectors(model, vectors, tmp_path):
    out = tmp_path / model
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no preview is skipped: vectors are drawn
        run = genforge.train({"model": {"name": model}, "data": {"name": "npz", "path": vectors},
                              "out": str(out), "trainer": {"steps": 3, "batch_size": 16,
                                                           "sample_every": 2, "progress": False}})
    assert run.checkpoint is not None and (run.checkpoint / "model.safetensors").is_file()
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == ["step-000002.png",
                                                                       "step-000003.png"]
    samples = genforge.load(out, device="cpu").sample(4, seed=0)
    assert samples.shape == (4, 128) and bool(samples.isfinite().all())


def test_a_preview_that_cannot_be_drawn_warns_once_and_the_run_goes_on(tmp_path):
    path = tmp_path / "five.npz"
    np.savez(path, x=np.random.default_rng(0).random((40, 5, 8, 8), dtype=np.float32))
    with pytest.warns(UserWarning, match=r"no sample previews for this run .*5") as caught:
        run = genforge.train({"model": {"name": "vae", "hidden": 16, "width": 4},
                              "data": {"name": "npz", "path": str(path)}, "out": str(tmp_path / "run"),
                              "trainer": {"steps": 4, "batch_size": 8, "sample_every": 1,
                                          "progress": False}})
    assert len([w for w in caught if "sample previews" in str(w.message)]) == 1
    assert run.step == 4 and (run.checkpoint / "model.safetensors").is_file()
    assert not list((tmp_path / "run" / "samples").glob("*.png"))
