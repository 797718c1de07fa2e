"""The catalogue (registry.toml): its entries, its documentation, and ``genforge plugins install``."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from genforge.catalogue import BUNDLED, CatalogueEntry, catalogue_folder, read_catalogue
from genforge.cli import main
from genforge.errors import ConfigError
from genforge.installer import project_metadata
from genforge.plugins import Plugins
from tests.doc_blocks import same_output

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
        table = {"name": name, "requirement": f"genforge-{name}>=0.1", "models": [name], "summary": "s",
                 "genforge": ">=0.1,<0.2", **fields}
        table = {k: v for k, v in table.items() if v is not None}
        tables.append("[[plugin]]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in table.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(tables))
    return path


def test_bundled_catalogue_is_the_repository_one():
    assert BUNDLED.resolve() == CATALOGUE and catalogue_folder() == ROOT


def test_every_entry_is_valid_and_its_source_is_what_it_says():
    entries = read_catalogue(CATALOGUE)
    assert {"gan", "vae", "flow", "onnx"} <= {e.name for e in entries}
    plugins = Plugins()
    plugins.registries  # noqa: B018 - building the registries fills each record's names
    registered: dict[str, dict[str, list[str]]] = {}
    for record in plugins.records:
        for kind, names in record.registered.items():
            registered.setdefault(record.dist, {}).setdefault(kind, []).extend(names)
    for entry in entries:
        source = entry.local_folder(ROOT)
        assert source is not None, f"{entry.name}: source {entry.source} holds no project"
        dist, declared = project_metadata(source)
        assert dist == entry.distribution, entry.name
        assert SpecifierSet(declared) == SpecifierSet(entry.genforge), entry.name
        assert SpecifierSet(entry.genforge).contains("0.1.0"), entry.name
        assert Requirement(entry.requirement).specifier.contains("0.1.0"), entry.name
        assert registered.get(entry.distribution) == entry.provides(), f"{entry.name}: installed names differ"


def test_the_documentation_describes_every_field():
    doc = (ROOT / "docs" / "plugins" / "catalogue.md").read_text()
    for field in CatalogueEntry.model_fields:
        assert re.search(rf"^\| `{field}` \|", doc, re.M), field


@pytest.mark.parametrize(("fields", "message"), [
    ({"genforge": "0.1+"}, r"plugin\[0\]\.genforge: Value error, '0.1\+' is not a PEP 440 version specifier"),
    ({"kind": "model-family"}, r"plugin\[0\]\.kind: Extra inputs are not permitted"),
    ({"source": " "}, r"plugin\[0\]\.source: Value error, ' ': must be a folder relative to the catalogue"),
    ({"source": "/abs/path"}, r"plugin\[0\]\.source: Value error, '/abs/path': must be a folder relative"),
    ({"source": "-e."}, r"plugin\[0\]\.source: Value error, source '-e.' starts with '-', which pip"),
    ({"source": "--index-url=http://x"}, r"plugin\[0\]\.source: Value error, source '--index-url=http"),
    ({"requirement": "-rrequirements.txt"}, r"plugin\[0\]\.requirement: Value error, requirement "
                                            r"'-rrequirements.txt' starts with '-', which pip would read"),
    ({"requirement": " --find-links=/tmp/x"}, r"plugin\[0\]\.requirement: Value error, requirement ' --find"),
    ({"requirement": "genforge-x --index-url http://x"},
     r"plugin\[0\]\.requirement: Value error, 'genforge-x --index-url http://x' is not a pip req"),
    ({"requirement": "genforge-x @ https://example.org/x.whl"}, r"installs from an index, not a URL"),
    ({"models": None}, r"plugin\[0\]: Value error, lists nothing it provides; name at least one of models, "),
])
def test_invalid_entries_are_one_line_errors(tmp_path, fields, message):
    path = write_catalogue(tmp_path / "registry.toml", bad=fields)
    with pytest.raises(ConfigError, match=message) as err:
        read_catalogue(path)
    assert "\n" not in str(err.value)


def test_duplicate_names_are_refused(tmp_path):
    path = tmp_path / "registry.toml"
    one = write_catalogue(tmp_path / "a.toml", twin={}).read_text()
    path.write_text(one + "\n" + one)
    with pytest.raises(ConfigError, match="plugin name 'twin' is catalogued twice"):
        read_catalogue(path)


def test_available_lists_every_kind_installed_or_not(tmp_path, capsys):
    path = write_catalogue(tmp_path / "registry.toml", gan={"requirement": "genforge-gan>=0.1"},
                           other={"requirement": "genforge-other", "models": ["a", "b"],
                                  "data_sources": ["shapes"], "exporters": ["png"], "metrics": ["score"]})
    assert main(["plugins", "available", "--registry", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.match(r"gan\s+genforge-gan\s+installed\s", lines[0])
    assert lines[1].strip() == "models: gan"
    assert re.match(r"other\s+genforge-other\s+not installed\s", lines[2])
    assert lines[3].strip() == "models: a, b; data_sources: shapes; exporters: png; metrics: score"
    assert main(["plugins", "available", "--registry", str(path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["distribution"], e["installed"]) for e in listed] == [
        ("gan", "genforge-gan", True), ("other", "genforge-other", False)]
    assert listed[1]["data_sources"] == ["shapes"] and listed[1]["metrics"] == ["score"]


def test_an_entry_of_several_kinds_installs(tmp_path, capsys):
    path = write_catalogue(tmp_path / "registry.toml",
                           multi={"models": ["m"], "data_sources": ["d"], "exporters": ["e"]})
    assert main(["plugins", "install", "multi", "--registry", str(path), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith(" -- 'genforge-multi>=0.1' genforge==0.1.0")


def test_plugins_json_lists_what_each_registers(capsys):
    assert main(["plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    gan = next(p for p in listed["plugins"] if p["distribution"] == "genforge-gan")
    assert gan["registered"]["models"] == ["gan", "cgan"] and gan["error"] is None
    assert listed["conflicts"] == []


def test_relative_source_resolves_against_the_catalogue_folder(tmp_path, capsys, monkeypatch):
    project = write_project(tmp_path / "plugins" / "mine", "genforge-mine")
    path = write_catalogue(tmp_path / "cat" / "registry.toml", mine={"source": "../plugins/mine"})
    monkeypatch.chdir(tmp_path / "plugins")  # somewhere else: the catalogue's folder counts
    assert main(["plugins", "install", "mine", "--registry", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"installing 'mine' from {project} (catalogue: genforge >=0.1,<0.2; "
                      "pyproject.toml: genforge <0.2,>=0.1; this is genforge 0.1.0)")
    pip = f"{sys.executable} -m pip install --disable-pip-version-check"
    assert out[1] == f"{pip} -- {project} genforge==0.1.0"  # no temporary file: it runs as printed
    assert main(["plugins", "install", "mine", "--registry", str(path), "-e", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"{pip} --editable={project} -- genforge==0.1.0"


def test_outside_a_checkout_the_requirement_installs_with_the_users_index_options(tmp_path, capsys):
    # a wheel install: the bundled catalogue's relative sources do not exist beside it
    path = write_catalogue(tmp_path / "site-packages" / "genforge" / "registry.toml",
                           gan={"requirement": "genforge-gan>=0.1,<0.2", "source": "plugins/gan"})
    wheels = tmp_path / "wheelhouse"
    wheels.mkdir()
    assert main(["plugins", "install", "gan", "--registry", str(path), "--find-links", str(wheels),
                 "--no-index", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("installing 'gan' from genforge-gan>=0.1,<0.2 (catalogue: genforge >=0.1,<0.2; "
                      "this is genforge 0.1.0)")
    assert out[1].endswith(f"--find-links={wheels} --no-index -- 'genforge-gan>=0.1,<0.2' genforge==0.1.0")


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
        future={"source": "future", "genforge": ">=0.2,<0.3"},
        renamed={"source": "./renamed"})
    reg = ["--registry", str(path), "--dry-run"]
    assert one_line_error(capsys, ["plugins", "install", "nope", *reg]) == (
        f"genforge: error: 'nope' is not in the catalogue {path} (catalogued: future, "
        "renamed); pass --from PATH_OR_REQUIREMENT to install it from elsewhere")
    assert one_line_error(capsys, ["plugins", "install", "future", *reg]) == (
        "genforge: error: plugin 'future' (genforge-future, per the catalogue) supports genforge "
        ">=0.2,<0.3, but this is genforge 0.1.0; not installing it (use a release of it made for "
        "genforge 0.1.0)")
    assert "holds distribution 'something-else', but the catalogue lists 'renamed' as 'genforge-renamed'" in (
        one_line_error(capsys, ["plugins", "install", "renamed", *reg]))
    assert "genforge-future (per its pyproject.toml) supports genforge <0.3,>=0.2" in one_line_error(
        capsys, ["plugins", "install", "anything", "--from", str(future), *reg])
    assert "--editable needs a local folder" in one_line_error(
        capsys, ["plugins", "install", "x", "--from", "genforge-x>=1", "-e", *reg])
    assert "does not exist" in one_line_error(capsys,
                                              ["plugins", "install", "x", "--from", "./nowhere", *reg])


def test_the_documented_errors_are_the_real_ones(tmp_path, capsys):
    doc = (ROOT / "docs" / "plugins" / "catalogue.md").read_text()
    start = doc.index("```\n", doc.index("Errors are one line and exit with status 2")) + 4
    shown = doc[start: doc.index("```", start)].splitlines()
    path = write_catalogue(tmp_path / "registry.toml", future={"genforge": ">=0.2,<0.3"},
                           x={"requirement": "genforge-x>=1.0"})
    (tmp_path / "wheelhouse").mkdir()
    real = [one_line_error(capsys, ["plugins", "install", "nope"]),  # the bundled catalogue
            one_line_error(capsys, ["plugins", "install", "future", "--registry", str(path)]),
            one_line_error(capsys, ["plugins", "install", "x", "--from=-rrequirements.txt"])]
    # pip itself fails: nothing to find, no index
    assert main(["plugins", "install", "x", "--registry", str(path), "--no-index",
                 "--find-links", str(tmp_path / "wheelhouse")]) == 2
    real.append(capsys.readouterr().err.strip().splitlines()[-1])
    assert len(shown) == len(real)
    for line, error in zip(shown, real, strict=True):
        assert same_output(line, error), (line, error)


@pytest.mark.parametrize("value", ["--help", "-rrequirements.txt", "-e.", " --index-url=http://x", "-"])
def test_from_values_that_pip_would_read_as_options_are_refused(tmp_path, capsys, value):
    (tmp_path / "requirements.txt").write_text("--index-url http://example.invalid/simple\n")
    path = write_catalogue(tmp_path / "registry.toml")
    argv = ["plugins", "install", "x", f"--from={value}", "--registry", str(path)]
    assert one_line_error(capsys, argv) == (
        f"genforge: error: --from {value!r} starts with '-', which pip would read as an option")


def test_uninstall_names_the_distribution(tmp_path, capsys):
    assert main(["plugins", "uninstall", "gan", "--dry-run"]) == 0  # a catalogue name
    out = capsys.readouterr().out.splitlines()
    assert out == ["uninstalling 'gan' (genforge-gan)",
                   f"{sys.executable} -m pip uninstall --yes --disable-pip-version-check -- genforge-gan"]
    assert main(["plugins", "uninstall", "genforge-vae", "--dry-run"]) == 0  # a distribution name
    assert capsys.readouterr().out.endswith(" -- genforge-vae\n")
    assert one_line_error(capsys, ["plugins", "uninstall", "genforge", "--dry-run"]).startswith(
        "genforge: error: genforge plugins uninstall removes plugins, not genforge itself")
    assert one_line_error(capsys, ["plugins", "uninstall", "nothing-here", "--dry-run"]) == (
        "genforge: error: 'nothing-here': no installed distribution 'nothing-here' (`genforge plugins` "
        "lists what is installed)")


def test_from_installs_an_uncatalogued_requirement(tmp_path, capsys):
    path = write_catalogue(tmp_path / "registry.toml")
    assert main(["plugins", "install", "x", "--registry", str(path), "--from", "genforge-x>=1.0",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("installing 'x' from genforge-x>=1.0 (no genforge range declared; "
                      "this is genforge 0.1.0)")
    assert out[1].endswith(" -- 'genforge-x>=1.0' genforge==0.1.0")


@pytest.mark.slow
def test_install_a_catalogued_local_plugin_into_a_test_virtualenv(core_venv, tmp_path, run_ok):
    """``genforge plugins install flow --dry-run`` prints a pip command that installs examples/genforge-flow
    as printed; a future range is refused."""
    genforge = str(core_venv / "bin" / "genforge")
    env = {**os.environ, "GENFORGE_STRICT_PLUGINS": "1"}
    env.pop("PYTHONPATH", None)
    assert "genforge-flow" not in run_ok([genforge, "plugins"], env=env).stdout
    future = write_catalogue(tmp_path / "future" / "registry.toml",
                             flow={"requirement": "genforge-flow", "genforge": ">=0.2"})
    refused = subprocess.run([genforge, "plugins", "install", "flow", "--registry", str(future)],
                             capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == ("genforge: error: plugin 'flow' (genforge-flow, per the catalogue) supports "
                              "genforge >=0.2, but this is genforge 0.1.0; not installing it (use a "
                              "release of it made for genforge 0.1.0)\n")
    assert "genforge-flow" not in run_ok([genforge, "plugins"], env=env).stdout
    out = run_ok([genforge, "plugins", "install", "flow", "--registry", str(CATALOGUE), "--dry-run"],
                 env=env).stdout.splitlines()
    assert out[0].startswith(f"installing 'flow' from {ROOT / 'examples' / 'genforge-flow'}")
    assert "genforge-flow" not in run_ok([genforge, "plugins"], env=env).stdout  # a dry run installs nothing
    run_ok(shlex.split(out[1]), env=env)  # the printed command runs as printed (test_install runs install)
    listed = run_ok([genforge, "plugins"], env=env).stdout
    assert "(genforge-flow 0.1.0)" in listed and "models: flow" in listed
    available = run_ok([genforge, "plugins", "available", "--registry", str(CATALOGUE)], env=env).stdout
    assert re.search(r"^flow\s+genforge-flow\s+installed\s", available, re.M)
    run_ok([genforge, "train", "--model", "flow", "--data", "toy2d", "--steps", "2", "--no-progress",
            "--out", str(tmp_path / "run"), "--set", "model.hidden=8"], env=env)
    out = run_ok([genforge, "plugins", "uninstall", "flow"], env=env).stdout
    assert "uninstalled 'flow' (genforge-flow)" in out
    assert "genforge-flow" not in run_ok([genforge, "plugins"], env=env).stdout
