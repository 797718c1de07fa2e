"""``genforge plugins new``: the generated project installs with pip and passes the conformance kit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genforge.cli import main
from genforge.errors import GenforgeError
from genforge.scaffold.project import (
    DATA_SOURCE_FILES,
    FILES,
    KINDS,
    names_for,
    render,
    supported_range,
    write_project,
)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_template_renders_completely(kind):
    project = render("my-model", kind)
    assert set(project) == {f.format(package="genforge_my_model") for f in FILES}
    for path, text in project.items():
        assert "$" not in text, path  # every placeholder was filled
        if path.endswith(".py"):
            compile(text, path, "exec")
    pyproject = project["pyproject.toml"]
    assert 'name = "genforge-my-model"' in pyproject
    assert 'dependencies = ["genforge>=0.1,<0.2", "torch>=2.4"]' in pyproject
    assert 'my-model = "genforge_my_model.plugin"' in pyproject
    assert "import torch" not in project["genforge_my_model/plugin.py"]
    assert '@parametrize_with_checks(["my-model"])' in project["tests/test_genforge_my_model_conformance.py"]


def test_the_data_source_template_renders_completely():
    project = render("my-data", "data-source")
    assert set(project) == {f.format(package="genforge_my_data") for f in DATA_SOURCE_FILES}
    for path, text in project.items():
        assert "$" not in text, path
        if path.endswith(".py"):
            compile(text, path, "exec")
    assert 'my-data = "genforge_my_data.plugin"' in project["pyproject.toml"]
    assert 'register("my-data", "genforge_my_data.source:load", MyDataConfig,' in project[
        "genforge_my_data/plugin.py"]
    assert "import torch" not in project["genforge_my_data/plugin.py"]
    assert '@parametrize_with_checks(data_sources=["my-data"])' in project[
        "tests/test_genforge_my_data_conformance.py"]


def test_names_and_version_ranges():
    assert names_for("flow2d") == {"name": "flow2d", "dist": "genforge-flow2d", "package": "genforge_flow2d",
                                   "title": "Flow2d", "genforge_range": ">=0.1,<0.2"}
    assert names_for("my_vae")["dist"] == "genforge-my-vae"
    assert supported_range("0.1.0") == ">=0.1,<0.2" and supported_range("1.2.3") == ">=1.2,<2"
    for bad in ("Flow", "2d", "a b", "x-", ""):
        with pytest.raises(GenforgeError, match="lowercase letters"):
            names_for(bad)


def test_refuses_a_folder_that_is_in_use(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(GenforgeError, match="already exists and is not an empty folder"):
        write_project("mine", "generic", tmp_path / "taken")
    with pytest.raises(GenforgeError, match="--family-kind 'flow'"):
        write_project("mine", "flow", tmp_path / "new")


def test_cli_writes_the_project_and_refuses_a_registered_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["plugins", "new", "fresh-name", "--family-kind", "gan"]) == 0
    out = capsys.readouterr().out
    assert "a gan family registering model 'fresh-name'" in out and "pip install -e '.[test]'" in out
    assert (tmp_path / "genforge-fresh-name" / "genforge_fresh_name" / "model.py").is_file()
    assert main(["plugins", "new", "cgan", "--dir", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("genforge: error: model name 'cgan' is already registered by genforge-gan 0.1.0; "
                   "choose another name (a name two installed plugins register must be given as "
                   "DIST:NAME)")


def run_project_tests(project: Path, site: Path) -> subprocess.CompletedProcess:
    """The project's own tests, with ``site`` (where it was installed) on the path; every check must run."""
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-o", "genforge_not_applicable=fail"], cwd=project, env=env, capture_output=True,
                          text=True)


def install_target(project: Path, site: Path) -> None:
    """pip-install a project (no dependencies) into a plain folder, which then acts as site-packages."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(site), str(project)],
                   check=True, capture_output=True)


@pytest.mark.parametrize("kind", [pytest.param("generic"), pytest.param("gan", marks=pytest.mark.slow),
                                  pytest.param("vae", marks=pytest.mark.slow)])
def test_generated_project_passes_the_kit_as_generated(tmp_path, kind):
    """Installed next to this environment (ONNX exporter included), every check runs and passes."""
    name = f"scaffolded-{kind}"
    project = write_project(name, kind, tmp_path / "project")
    install_target(project, tmp_path / "site")
    out = run_project_tests(project, tmp_path / "site")
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout and "failed" not in out.stdout and "not applicable" not in out.stdout


def test_generated_data_source_passes_the_kit_and_trains(tmp_path, capsys, monkeypatch):
    """``plugins new --kind data-source``, pip install (offline, next to this environment), its tests pass."""
    monkeypatch.chdir(tmp_path)
    assert main(["plugins", "new", "quadrants", "--kind", "data-source"]) == 0
    assert "a data source registering data source 'quadrants'" in capsys.readouterr().out
    project = tmp_path / "genforge-quadrants"
    install_target(project, tmp_path / "site")
    out = run_project_tests(project, tmp_path / "site")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "7 passed" in out.stdout
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "OMP_NUM_THREADS": "1"}
    train = ("import genforge\nrun = genforge.train({'model': {'name': 'cgan', 'ngf': 8, 'ndf': 8}, "
             "'data': {'name': 'quadrants', 'n_train': 64}, 'out': 'run', 'trainer': {'steps': 2, "
             "'batch_size': 16, 'progress': False}})\nassert run.data_info.num_classes == 4\n")
    subprocess.run([sys.executable, "-c", train], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert main(["plugins", "new", "digits", "--kind", "data-source", "--dir", "x"]) == 2
    assert "data source name 'digits' is already registered by genforge 0.1.0" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(("name", "args", "listed", "summary"), [
    # No ONNX exporter in this environment: that one check is reported as not applicable.
    ("fresh-vae", ["--family-kind", "vae"], "models: fresh-vae", "passed, 1 not applicable"),
    ("fresh-data", ["--kind", "data-source"], "data_sources: fresh-data", "7 passed"),
])
def test_scaffold_pip_install_pytest_in_a_fresh_virtualenv(core_venv, tmp_path, run_ok, name, args, listed,
                                                           summary):
    """The venv's own ``genforge plugins new`` (templates shipped as package data), pip, pytest."""
    bin_ = core_venv / "bin"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENFORGE_STRICT_PLUGINS": "1"}
    env.pop("PYTHONPATH", None)
    project = tmp_path / f"genforge-{name}"
    run_ok([bin_ / "genforge", "plugins", "new", name, *args, "--dir", project], env=env)
    run_ok([bin_ / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
            f"{project}[test]"], env=env)
    shown = run_ok([bin_ / "genforge", "plugins"], env=env).stdout
    assert f"(genforge-{name} 0.1.0)" in shown and listed in shown
    out = subprocess.run([bin_ / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                         env=env, capture_output=True, text=True)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert summary in text and "failed" not in text
    if "not applicable" in summary:
        assert ("onnx_matches_pytorch-image]: no 'onnx' exporter is installed (pip install "
                "genforge-onnx)") in text


def test_writing_a_project_does_not_import_torch(tmp_path):
    code = ("import sys\nfrom genforge.cli import main\n"
            f"assert main(['plugins', 'new', 'light-one', '--dir', {str(tmp_path / 'p')!r}]) == 0\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert (tmp_path / "p" / "pyproject.toml").is_file()
