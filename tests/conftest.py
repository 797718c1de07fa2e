"""Shared fixtures: fake plugin distributions and tiny configs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import distributions
from pathlib import Path

import pytest

from genforge.plugins import Plugins


def make_dist(root: Path, name: str, code: str, version: str = "1.0") -> Path:
    """Write an installed-looking distribution ``name`` whose module registers via ``code``."""
    root.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    (root / f"{module}.py").write_text(textwrap.dedent(code))
    info = root / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[genforge]\n{module} = {module}\n")
    return root


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """Build a ``Plugins`` over fake distributions: ``fake_plugins({name: code}, **kw)``."""
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def build(sources: dict[str, str], **kwargs) -> Plugins:
        for name, code in sources.items():
            make_dist(site, name, code)
            modules.append(name.replace("-", "_"))
        eps = [ep for d in distributions(path=[str(site)]) for ep in d.entry_points
               if ep.group == "genforge"]
        return Plugins(eps=sorted(eps, key=lambda ep: ep.name), **kwargs)

    yield build
    for module in modules:
        sys.modules.pop(module, None)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def data_cache(tmp_path_factory, monkeypatch) -> Path:
    """Each test's own user cache folder (``XDG_CACHE_HOME``): its decoded-image caches start empty."""
    home = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "genforge" / "data"


def run_ok(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its command line and output if it fails."""
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(name="run_ok")
def run_ok_fixture():
    """The ``run_ok(cmd, **subprocess_kwargs)`` helper."""
    return run_ok


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """The seven distributions built as wheels (``pip wheel --no-deps``), as a release ships them."""
    out = tmp_path_factory.mktemp("wheelhouse")
    projects = [ROOT, *sorted(p.parent for group in ("plugins", "exporters", "examples")
                              for p in (ROOT / group).glob("*/pyproject.toml"))]
    run_ok([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
            "--no-build-isolation", "-w", str(out), *projects])
    return out


def wheel(wheelhouse: Path, distribution: str) -> Path:
    """The wheel file of ``distribution`` in ``wheelhouse``."""
    return next(wheelhouse.glob(f"{distribution.replace('-', '_')}-*.whl"))


@pytest.fixture(scope="session")
def core_venv(tmp_path_factory, wheelhouse) -> Path:
    """A fresh virtualenv outside the repository with torch (pinned) and the core's wheels only.

    The core's wheels are genforge and genforge-runtime (its numpy-only noise contract,
    samplers and pictures), given as files so that no other distribution of those names
    can be chosen. Tests install plugins into it (test_install, test_catalogue,
    test_scaffold); each installs a different distribution, so their order does not matter.
    """
    venv = tmp_path_factory.mktemp("venv") / "env"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    run_ok([sys.executable, "-m", "venv", str(venv)])
    run_ok([*pip, "install", "-c", str(ROOT / "constraints.txt"), "torch",
            wheel(wheelhouse, "genforge"), wheel(wheelhouse, "genforge-runtime")])
    return venv


TINY_RUN = {
    "model": {"name": "cgan", "latent_dim": 8, "ngf": 8, "ndf": 8},
    "data": {"name": "digits", "size": 8},
    "trainer": {"steps": 2, "batch_size": 32, "progress": False, "log_every": 1, "sample_every": 0,
                "checkpoint_every": 0, "ema_decay": 0.0},
}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder of a tiny conditional GAN trained 2 steps (read-only: copy it to change it)."""
    import genforge

    out = tmp_path_factory.mktemp("tiny") / "run"
    genforge.train({**TINY_RUN, "out": str(out)})
    return out


@pytest.fixture(scope="session")
def tiny_onnx(tiny_run, tmp_path_factory) -> Path:
    """The tiny run exported to ONNX (read-only)."""
    import genforge
    from genforge_onnx.onnx_exporter import exporter

    path = tmp_path_factory.mktemp("tiny-onnx") / "tiny.onnx"
    return exporter.export(genforge.load(tiny_run, device="cpu"), path, {"verbose": False})
