"""Packaging: each plugin installs with pip into an environment holding only the core."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# genforge_runtime is not here: the core depends on it for its numpy-only modules (pictures)
FAMILY_PACKAGES = ("genforge_gan", "genforge_vae", "genforge_onnx", "genforge_flow")


def test_core_never_names_a_family_or_exporter_package():
    for path in (ROOT / "core" / "genforge").rglob("*.py"):
        text = path.read_text()
        for name in FAMILY_PACKAGES:
            assert name not in text, f"{path.relative_to(ROOT)} names {name}"


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it fails."""
    out = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert out.returncode == 0, f"{' '.join(cmd)}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.mark.slow
def test_gan_plugin_installs_into_a_core_only_environment(core_venv, tmp_path):
    genforge = str(core_venv / "bin" / "genforge")
    env = {**os.environ, "GENFORGE_STRICT_PLUGINS": "1"}
    before = run([genforge, "plugins"], env=env).stdout
    assert "genforge-gan" not in before and "digits" in before
    pip = [str(core_venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    run([*pip, "install", str(ROOT / "plugins" / "gan")])
    after = run([genforge, "plugins"], env=env).stdout
    assert "(genforge-gan 0.1.0)" in after and "models: gan, cgan" in after
    run([genforge, "train", "--model", "cgan", "--steps", "2", "--out", str(tmp_path / "r"),
         "--no-progress", "--set", "data.size=8", "--set", "model.ngf=8", "--set", "model.ndf=8"],
        env=env)
    run([genforge, "sample", str(tmp_path / "r"), "-n", "10", "--labels", "all",
         "--out", str(tmp_path / "g.png")], env=env)
    assert (tmp_path / "g.png").stat().st_size > 0


@pytest.mark.slow
def test_vae_plugin_installs_into_a_core_only_environment(core_venv, tmp_path):
    genforge = str(core_venv / "bin" / "genforge")
    env = {**os.environ, "GENFORGE_STRICT_PLUGINS": "1"}
    assert "genforge-vae" not in run([genforge, "plugins"], env=env).stdout
    pip = [str(core_venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    run([*pip, "install", str(ROOT / "plugins" / "vae")])
    assert "models: vae, cvae" in run([genforge, "plugins"], env=env).stdout
    run([genforge, "train", "--model", "vae", "--steps", "3", "--out", str(tmp_path / "r"),
         "--no-progress", "--set", "model.hidden=16"], env=env)
    out = run([genforge, "eval", str(tmp_path / "r"), "--metrics", "nll", "--k", "5", "--seeds", "2"],
              env=env).stdout
    assert "nll_iwae" in out
