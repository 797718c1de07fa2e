"""The catalogue (registry.toml): its entries, its documentation, and ``genforge plugins install``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from genforge.catalogue import BUNDLED, CatalogueEntry, catalogue_folder, read_catalogue
from genforge.cli import main
from genforge.errors import ConfigError
from genforge.installer import project_metadata
from genforge.plugins import Plugins

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "registry.toml"

PROJECT = """
[project]
name = "{dist}"
version = "1.0"
dependencies = ["torch>=2.4", "genforge{range}"]
"""


def write_project(folder: Path, dist: str, range_: str = ">=0.1,<0.2") -> Path:
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(PROJECT.format(dist=dist, range=range_))
    return folder


def write_catalogue(path: Path, **entries: dict) -> Path:
    tables = []
    for name, fields in entries.items():
        table = {"name": name, "kind": "model-family", "summary": "s", "genforge": ">=0.1,<0.2", **fields}
        tables.append("[[plugin]]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in table.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(tables))
    return path


def test_bundled_catalogue_is_the_repository_one():
    assert BUNDLED.resolve() == CATALOGUE and catalogue_folder() == ROOT


def test_every_entry_is_valid_and_its_source_is_what_it_says():
    entries = read_catalogue(CATALOGUE)
    assert {"gan", "vae", "flow"} <= {e.name for e in entries}
    plugins = Plugins()
    plugins.registries  # noqa: B018 - building the registries fills each record's names
    registered = {r.dist: r.registered.get("models", []) for r in plugins.records}
    for entry in entries:
        source = Path(entry.resolve_source(ROOT))
        assert source.is_dir(), f"{entry.name}: source {entry.source} does not exist"
        dist, declared = project_metadata(source)
        assert dist == entry.distribution, entry.name
        assert SpecifierSet(declared) == SpecifierSet(entry.genforge), entry.name
        assert SpecifierSet(entry.genforge).contains("0.1.0"), entry.name
        assert registered.get(entry.distribution) == entry.models, f"{entry.name}: installed models differ"


def test_the_documentation_describes_every_field_and_kind():
    doc = (ROOT / "docs" / "plugins" / "catalogue.md").read_text()
    for field in CatalogueEntry.model_fields:
        assert re.search(rf"^\| `{field}` \|", doc, re.M), field
    kinds = CatalogueEntry.model_fields["kind"].annotation.__args__
    assert all(f"`{k}`" in doc for k in kinds)


@pytest.mark.parametrize(("fields", "message"), [
    ({"genforge": "0.1+"}, r"plugin\[0\]\.genforge: Value error, '0.1\+' is not a PEP 440 version specifier"),
    ({"kind": "sampler"}, r"plugin\[0\]\.kind: Input should be 'model-family'"),
    ({"colour": "red"}, r"plugin\[0\]\.colour: Extra inputs are not permitted"),
    ({"source": " "}, r"plugin\[0\]\.source: Value error, must name a folder or a pip requirement"),
])
def test_invalid_entries_are_one_line_errors(tmp_path, fields, message):
    path = write_catalogue(tmp_path / "registry.toml", bad={"distribution": "d", "source": "x", **fields})
    with pytest.raises(ConfigError, match=message) as err:
        read_catalogue(path)
    assert "\n" not in str(err.value)


def test_duplicate_names_are_refused(tmp_path):
    path = tmp_path / "registry.toml"
    one = write_catalogue(tmp_path / "a.toml", twin={"distribution": "d", "source": "x"}).read_text()
    path.write_text(one + "\n" + one)
    with pytest.raises(ConfigError, match="plugin name 'twin' is catalogued twice"):
        read_catalogue(path)


def test_available_lists_installed_and_not_installed(tmp_path, capsys):
    path = write_catalogue(tmp_path / "registry.toml", gan={"distribution": "genforge-gan", "source": "x"},
                           other={"distribution": "genforge-other", "source": "y"})
    assert main(["plugins", "available", "--registry", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.match(r"gan\s+genforge-gan\s+installed\s", lines[0])
    assert re.match(r"other\s+genforge-other\s+not installed\s", lines[1])


def test_relative_source_resolves_against_the_catalogue_folder(tmp_path, capsys, monkeypatch):
    project = write_project(tmp_path / "plugins" / "mine", "genforge-mine")
    path = write_catalogue(tmp_path / "cat" / "registry.toml",
                           mine={"distribution": "genforge-mine", "source": "../plugins/mine"})
    monkeypatch.chdir(tmp_path / "plugins")  # somewhere else: the catalogue's folder counts
    assert main(["plugins", "install", "mine", "--registry", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"installing 'mine' from {project} (catalogue: genforge >=0.1,<0.2; "
                      "pyproject.toml: genforge <0.2,>=0.1; this is genforge 0.1.0)")
    assert out[1].startswith(f"{sys.executable} -m pip install --disable-pip-version-check -c ")
    assert out[1].endswith(f"constraints.txt {project}")


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    return captured.err.strip()


def test_install_refusals_are_one_line(tmp_path, capsys):
    future = write_project(tmp_path / "future", "genforge-future", ">=0.2,<0.3")
    write_project(tmp_path / "renamed", "something-else")
    path = write_catalogue(
        tmp_path / "registry.toml",
        future={"distribution": "genforge-future", "source": "future", "genforge": ">=0.2,<0.3"},
        missing={"distribution": "genforge-missing", "source": "./nowhere"},
        renamed={"distribution": "genforge-renamed", "source": "./renamed"})
    reg = ["--registry", str(path), "--dry-run"]
    assert one_line_error(capsys, ["plugins", "install", "nope", *reg]) == (
        f"genforge: error: 'nope' is not in the catalogue {path} (catalogued: future, missing, "
        "renamed); pass --from PATH_OR_REQUIREMENT to install it from elsewhere")
    assert one_line_error(capsys, ["plugins", "install", "future", *reg]) == (
        "genforge: error: plugin 'future' (genforge-future, per the catalogue) supports genforge "
        ">=0.2,<0.3, but this is genforge 0.1.0; not installing it (use a release of it made for "
        "genforge 0.1.0)")
    assert "resolves to" in one_line_error(capsys, ["plugins", "install", "missing", *reg])
    assert "holds distribution 'something-else', but the catalogue lists 'renamed' as 'genforge-renamed'" in (
        one_line_error(capsys, ["plugins", "install", "renamed", *reg]))
    assert "genforge-future (per its pyproject.toml) supports genforge <0.3,>=0.2" in one_line_error(
        capsys, ["plugins", "install", "anything", "--from", str(future), *reg])
    assert "--editable needs a local folder" in one_line_error(
        capsys, ["plugins", "install", "x", "--from", "genforge-x>=1", "-e", *reg])


def test_from_installs_an_uncatalogued_requirement(tmp_path, capsys):
    path = write_catalogue(tmp_path / "registry.toml")
    assert main(["plugins", "install", "x", "--registry", str(path), "--from", "genforge-x>=1.0",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("installing 'x' from genforge-x>=1.0 (no genforge range declared; "
                      "this is genforge 0.1.0)")
    assert out[1].endswith("genforge-x>=1.0'")


@pytest.mark.slow
def test_install_a_catalogued_local_plugin_into_a_test_virtualenv(core_venv, tmp_path, run_ok):
    """``genforge plugins install flow`` pip-installs examples/genforge-flow; a future range is refused."""
    genforge = str(core_venv / "bin" / "genforge")
    env = {**os.environ, "GENFORGE_STRICT_PLUGINS": "1"}
    env.pop("PYTHONPATH", None)
    assert "genforge-flow" not in run_ok([genforge, "plugins"], env=env).stdout
    future = write_catalogue(tmp_path / "future" / "registry.toml",
                             flow={"distribution": "genforge-flow", "genforge": ">=0.2",
                                   "source": str(ROOT / "examples" / "genforge-flow")})
    refused = subprocess.run([genforge, "plugins", "install", "flow", "--registry", str(future)],
                             capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == ("genforge: error: plugin 'flow' (genforge-flow, per the catalogue) supports "
                              "genforge >=0.2, but this is genforge 0.1.0; not installing it (use a "
                              "release of it made for genforge 0.1.0)\n")
    assert "genforge-flow" not in run_ok([genforge, "plugins"], env=env).stdout
    out = run_ok([genforge, "plugins", "install", "flow", "--registry", str(CATALOGUE)], env=env).stdout
    assert f"installing 'flow' from {ROOT / 'examples' / 'genforge-flow'}" in out
    assert "installed 'flow' (genforge-flow)" in out
    listed = run_ok([genforge, "plugins"], env=env).stdout
    assert "(genforge-flow 0.1.0)" in listed and "models: flow" in listed
    available = run_ok([genforge, "plugins", "available", "--registry", str(CATALOGUE)], env=env).stdout
    assert re.search(r"^flow\s+genforge-flow\s+installed\s", available, re.M)
    run_ok([genforge, "train", "--model", "flow", "--data", "toy2d", "--steps", "2", "--no-progress",
            "--out", str(tmp_path / "run"), "--set", "model.hidden=8"], env=env)
