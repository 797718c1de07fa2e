"""Vectors longer than 2 (``[128]``) train every first-party family with its default settings."""

from __future__ import annotations

import sys
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


def test_a_preview_that_cannot_be_drawn_warns_once_and_the_run_goes_on(tmp_path, run_ok):
    path = tmp_path / "five.npz"
    np.savez(path, x=np.random.default_rng(0).random((40, 5, 8, 8), dtype=np.float32))
    done = run_ok([sys.executable, "-m", "genforge", "train", "--model", "vae", "--data", "npz",
                   "--set", f"data.path={path}", "--set", "model.hidden=16", "--set", "model.width=4",
                   "--set", "trainer.batch_size=8", "--set", "trainer.sample_every=1", "--steps", "4",
                   "--out", tmp_path / "run", "--no-progress"])
    assert done.stderr.splitlines() == [
        f"genforge: warning: {tmp_path / 'run' / 'samples'}: no sample previews for this run (a PNG grid "
        "needs 1 to 4 channels (grey, grey + alpha, RGB, RGBA); these NCHW samples [64, 5, 8, 8] have 5); "
        "the training is not affected"]
    assert (tmp_path / "run" / "checkpoints" / "step-000004" / "model.safetensors").is_file()
    assert not list((tmp_path / "run" / "samples").glob("*.png"))
