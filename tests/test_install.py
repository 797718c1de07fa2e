"""Packaging: each plugin installs with pip into an environment holding only the core."""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
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


def venv_run(venv: Path, tool: str, *args: object, env: dict[str, str] | None = None) -> str:
    """Run ``venv``'s ``tool`` (outside the repository); return its stdout."""
    return run([str(venv / "bin" / tool), *map(str, args)], env=env, cwd=venv.parent).stdout


@pytest.mark.slow
def test_from_wheels_install_gan_train_sample_eval_export_and_run_without_torch(core_venv, wheelhouse,
                                                                                 tmp_path):
    """The first hour, from wheels outside the repository; no index for the plugins."""
    started = time.perf_counter()
    env = {**os.environ, "GENFORGE_STRICT_PLUGINS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    assert "genforge-gan" not in venv_run(core_venv, "genforge", "plugins", env=env)
    out = venv_run(core_venv, "genforge", "plugins", "install", "gan", "--find-links", wheelhouse,
                   "--no-index", env=env)
    assert "installing 'gan' from genforge-gan>=0.1,<0.2 (catalogue" in out  # the requirement, not a path
    assert "models: gan, cgan" in venv_run(core_venv, "genforge", "plugins", env=env)
    run_dir = tmp_path / "run"
    venv_run(core_venv, "genforge", "train", "--model", "gan", "--steps", "100", "--out", run_dir,
             "--no-progress", env=env)
    assert (run_dir / "README.md").read_text().startswith("---\nlibrary_name: genforge\n")
    spread, fd = {}, {}
    for flag in ("", "--no-ema"):
        npy, report = tmp_path / f"s{flag}.npy", tmp_path / f"e{flag}.json"
        venv_run(core_venv, "genforge", "sample", run_dir, "-n", "200", "--out", npy, *filter(None, [flag]),
                 env=env)
        spread[flag] = float(np.load(npy).std(axis=0).mean())
        venv_run(core_venv, "genforge", "eval", run_dir, "--metrics", "fd", "--seeds", "1", "--no-floor",
                 "--json", report, *filter(None, [flag]), env=env)
        fd[flag] = json.loads(report.read_text())["results"]["fd"]["mean"]
    assert spread[""] >= 0.7 * spread["--no-ema"], spread  # EMA samples as varied as the raw ones
    assert fd[""] <= 1.25 * fd["--no-ema"], fd
    pip = [str(core_venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    run([*pip, "install", "-c", str(ROOT / "constraints.txt"), next(wheelhouse.glob("genforge_onnx-*.whl")),
         "onnxruntime>=1.17"])
    onnx_file = tmp_path / "gan.onnx"
    try:
        venv_run(core_venv, "genforge", "export", run_dir, "--format", "onnx", "--out", onnx_file, env=env)
        run([*pip, "check"])
    finally:  # the shared environment holds no exporter for the other tests (test_scaffold)
        out = venv_run(core_venv, "genforge", "plugins", "uninstall", "onnx", env=env)
    assert "uninstalled 'onnx' (genforge-onnx)" in out
    # a second environment: the runtime with its CPU extra only (no torch, no onnxruntime-gpu)
    runtime = tmp_path / "runtime-env"
    run([sys.executable, "-m", "venv", str(runtime)])
    rpip = [str(runtime / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    run([*rpip, "install", f"{next(wheelhouse.glob('genforge_runtime-*.whl'))}[cpu,png]"])
    installed = run([str(runtime / "bin" / "python"), "-m", "pip", "list", "--format=freeze"]).stdout.lower()
    assert "onnxruntime==" in installed and "torch" not in installed and "onnxruntime-gpu" not in installed
    run([*rpip, "check"])
    out = venv_run(runtime, "genforge-run", onnx_file, "-n", "16", "--seed", "0", "--out",
                   tmp_path / "grid.png", env=env)
    assert out.startswith("wrote 16 samples of gan") and (tmp_path / "grid.png").stat().st_size > 0
    print(f"wheel install check: {time.perf_counter() - started:.0f} s (FD {fd}, spread {spread})")


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


REPOSITORY = "https://github.com/genforge/genforge"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_wheels_carry_license_classifiers_urls_and_absolute_links_and_pass_twine(wheelhouse):
    wheels = sorted(wheelhouse.glob("*.whl"))
    assert len(wheels) == 7
    for path in wheels:
        with zipfile.ZipFile(path) as whl:
            info = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
            assert whl.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes(), path.name
            meta = email.message_from_bytes(whl.read(f"{info}/METADATA"))
        assert meta["License-Expression"] == "Apache-2.0", path.name
        assert "Programming Language :: Python :: 3 :: Only" in meta.get_all("Classifier"), path.name
        urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
        assert urls["Repository"] == REPOSITORY and set(urls) >= {"Homepage", "Documentation", "Issues"}
        relative = [t for t in LINK.findall(meta.get_payload()) if not t.startswith(("https://", "#"))]
        assert not relative, f"{path.name}: relative links break on an index page: {relative}"
    run([sys.executable, "-m", "twine", "check", "--strict", *map(str, wheels)])


def test_the_runtime_wheel_carries_the_javascript_noise_module(wheelhouse):
    (path,) = wheelhouse.glob("genforge_runtime-*.whl")
    with zipfile.ZipFile(path) as whl:
        shipped = whl.read("genforge_runtime/noise.mjs")
    assert shipped == (ROOT / "exporters" / "runtime" / "genforge_runtime" / "noise.mjs").read_bytes()


def test_absolute_links_of_the_long_descriptions_name_files_that_exist():
    for readme in [ROOT / "README.md", *ROOT.glob("*/*/README.md")]:
        for target in LINK.findall(readme.read_text()):
            for prefix in (f"{REPOSITORY}/blob/main/", f"{REPOSITORY}/tree/main/",
                           "https://raw.githubusercontent.com/genforge/genforge/main/"):
                if target.startswith(prefix):
                    assert (ROOT / target[len(prefix):].partition("#")[0]).exists(), f"{readme}: {target}"
    from genforge.card import HOME

    assert HOME == REPOSITORY
