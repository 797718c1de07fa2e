"""2-D data: genforge-run draws the same kind of scatter plot as genforge sample."""

from __future__ import annotations

import numpy as np
from PIL import Image

import genforge
from genforge.cli import main
from genforge_runtime.cli import main as run_main


def test_genforge_run_writes_a_scatter_png_for_2d_data(tmp_path, capsys):
    genforge.train({"model": {"name": "gan", "hidden": 16, "latent_dim": 2}, "data": {"name": "toy2d"},
                    "out": str(tmp_path / "run"),
                    "trainer": {"steps": 2, "batch_size": 32, "progress": False, "sample_every": 0}})
    assert main(["export", str(tmp_path / "run"), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    assert run_main([str(tmp_path / "m.onnx"), "-n", "256", "--out", str(tmp_path / "run.png")]) == 0
    assert main(["sample", str(tmp_path / "run"), "-n", "256", "--out", str(tmp_path / "sample.png")]) == 0
    ran, sampled = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("run", "sample"))
    assert ran.shape == sampled.shape == (384, 384, 3)
    dots = (ran != 255).any(axis=2)
    assert 0 < dots.mean() < 0.5  # dots on a white background
