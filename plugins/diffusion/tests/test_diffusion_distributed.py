"""cfm (label dropout, EMA, guided sampling) trains and resumes under two processes (gloo on CPU)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

CONFIG = """
seed = 0
out = "{out}"
[model]
name = "cfm"
widths = [8]
groups = 4
embed_dim = 16
[data]
name = "digits"
size = 8
[trainer]
steps = 8
batch_size = 32
checkpoint_every = 4
sample_every = 0
log_every = 4
progress = false
"""


def genforge(*args: str) -> subprocess.CompletedProcess[str]:
    """``genforge ARGS`` in a child process with one torch thread per process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "genforge", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_cfm_trains_resumes_and_samples_under_two_processes(tmp_path):
    run = tmp_path / "run"
    config = tmp_path / "cfm.toml"
    config.write_text(CONFIG.format(out=run))
    out = genforge("train", str(config), "--nproc", "2")
    assert out.returncode == 0, out.stdout + out.stderr
    out = genforge("train", "--out", str(run), "--resume", "--steps", "12", "--nproc", "2", "--no-progress")
    assert out.returncode == 0, out.stdout + out.stderr
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "latest", "step-000004", "step-000008", "step-000012"]
    out = genforge("sample", str(run), "-n", "4", "--labels", "3", "--seed", "0", "--out",
                   str(tmp_path / "x.npy"))
    assert out.returncode == 0, out.stdout + out.stderr
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (4, 1, 8, 8) and np.isfinite(x).all()
