"""End to end on the command line: `genforge export` a tiny cgan, then `genforge-run` it."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

import genforge

pytest.importorskip("genforge_onnx", reason="genforge-onnx is not installed")
genforge_runtime = pytest.importorskip("genforge_runtime", reason="genforge-runtime is not installed")

TINY_CGAN = {
    "model": {"name": "cgan", "latent_dim": 8, "ngf": 8, "ndf": 8, "embed_dim": 4},
    "data": {"name": "digits", "size": 8},
    "trainer": {"steps": 3, "batch_size": 16, "progress": False, "sample_every": 0,
                "checkpoint_every": 0},
}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)


def test_export_then_run_with_the_runtime_cli(tmp_path):
    genforge.train({**TINY_CGAN, "out": str(tmp_path / "run")})
    model = tmp_path / "dist" / "cgan.onnx"

    done = cli("-m", "genforge", "export", str(tmp_path / "run"), "--format", "onnx", "--out", str(model))
    assert done.returncode == 0, done.stderr
    assert "max abs error" in done.stdout and f"to {model}" in done.stdout
    assert sorted(p.name for p in model.parent.iterdir()) == ["cgan.onnx"]

    npy, png = tmp_path / "samples.npy", tmp_path / "grid.png"
    done = cli("-m", "genforge_runtime.cli", str(model), "-n", "20", "--labels", "3,7", "--seed", "1",
               "--device", "cpu", "--out", str(npy))
    assert done.returncode == 0, done.stderr
    assert "wrote 20 samples of cgan (CPUExecutionProvider)" in done.stdout
    done = cli("-m", "genforge_runtime.cli", str(model), "-n", "100", "--labels", "all", "--out", str(png))
    assert done.returncode == 0 and png.stat().st_size > 0, done.stderr

    loaded = genforge.load(tmp_path / "run", device="cpu")
    want = loaded.sample(20, labels=[3] * 10 + [7] * 10, seed=1).numpy()  # one noise contract
    np.testing.assert_allclose(np.load(npy), want, rtol=0, atol=1e-4)

    done = cli("-m", "genforge_runtime.cli", str(model), "-n", "4", "--labels", "10", "--out", str(npy))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "labels: expected class indices in [0, 9], got [10]" in done.stderr
    info = genforge_runtime.load(model, device="cpu").info
    assert info["genforge.model"] == "cgan" and info["num_classes"] == 10
    assert info["source_sha256"] == hashlib.sha256(
        (loaded.path / "model.safetensors").read_bytes()).hexdigest()
