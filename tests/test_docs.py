"""Docs that test themselves: option tables against the config classes, the synopsis against the
parser, the run-folder listing against a real run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pydantic
import pytest
from pydantic import BaseModel

import genforge
from genforge.catalogue import read_catalogue
from genforge.cli import build_parser
from genforge.config import CardConfig, TrainerConfig
from genforge.plugins import default_plugins

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide.md"


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of any level."""
    start = text.index(heading + "\n") + len(heading) + 1
    nxt = re.search(r"^#{1,6} ", text[start:], re.M)
    return text[start: start + nxt.start()] if nxt else text[start:]


def table_rows(text: str) -> dict[str, str]:
    """``{option: default cell}`` of the ``| option | default | meaning |`` table ``text`` starts
    with; grouped rows (``| `a`, `b` | 1, 2 | ...``) give one entry per option."""
    rows: dict[str, str] = {}
    lines = text.lstrip().splitlines()
    for line in lines[: next((i for i, ln in enumerate(lines) if not ln.startswith("|")), len(lines))]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        keys = [k.strip().strip("`") for k in cells[0].split(",")]
        defaults = [d.strip() for d in cells[1].split(", ")] if len(keys) > 1 else [cells[1]]
        if len(defaults) != len(keys):
            defaults = [cells[1]] * len(keys)
        rows.update(zip(keys, defaults, strict=True))
    return rows


def same_default(cell: str, value: Any) -> bool:
    """Whether a table's default cell shows ``value`` (`` `x` `` or ``x``, a note in brackets allowed)."""
    text = re.sub(r"\s*\(.*\)$", "", cell).strip().strip("`")
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    if isinstance(value, list):
        return text == repr(value).replace("'", '"')
    return text == ('""' if value == "" else str(value))


def mismatches(rows: dict[str, str], config_cls: type[BaseModel]) -> list[str]:
    """What a documented table gets wrong about ``config_cls``: missing, extra, wrong defaults."""
    problems = []
    for name, field in config_cls.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default
        if name not in rows:
            problems.append(f"{name}: not documented")
        elif not same_default(rows[name], default):
            problems.append(f"{name}: documented default {rows[name]} but the default is {default!r}")
    fields = config_cls.model_fields
    problems += [f"{name}: documented but not an option" for name in rows if name not in fields]
    return problems


def trainer_rows(heading: str = "### `[trainer]`") -> dict[str, str]:
    text = section(GUIDE.read_text(), heading)
    return table_rows(text[text.index("| key |"):])


def test_the_trainer_table_is_the_trainer_config():
    assert mismatches(trainer_rows(), TrainerConfig) == []


def test_the_card_table_is_the_card_config():
    assert mismatches(trainer_rows("### `[card]`"), CardConfig) == []


def test_a_trainer_option_without_a_doc_line_fails_the_check():
    patched = pydantic.create_model("Patched", __base__=TrainerConfig,
                                    warmup_steps=(int, pydantic.Field(100, ge=0)))
    assert mismatches(trainer_rows(), patched) == ["warmup_steps: not documented"]
    changed = pydantic.create_model("Changed", __base__=TrainerConfig, log_every=(int, 25))
    assert mismatches(trainer_rows(), changed) == [
        "log_every: documented default 10 but the default is 25"]


def source_rows() -> dict[str, set[str]]:
    """``{source: options}`` of the guide's data-source table (notes in brackets skipped)."""
    rows = {}
    for line in section(GUIDE.read_text(), "## Data sources").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", cells[1])))
    return rows


def test_the_data_source_table_names_every_option_of_every_builtin_source():
    plugins = default_plugins()
    builtin = [n for n in plugins.names("data_sources")
               if plugins.get("data_sources", n).plugin.name == "genforge.builtins.data_sources"]
    rows = source_rows()
    assert sorted(rows) == sorted(builtin)
    for name in builtin:
        assert rows[name] == set(plugins.get("data_sources", name).config_cls.model_fields), name


@pytest.mark.parametrize("entry", [e for e in read_catalogue() if e.models], ids=lambda e: e.name)
def test_each_family_readme_documents_its_options(entry):
    readme = (entry.local_folder(ROOT) / "README.md").read_text()
    rows = table_rows(readme[readme.index("| option | default | meaning |"):])
    for model in entry.models:
        config_cls = default_plugins().get("models", model).config_cls
        assert mismatches(rows, config_cls) == [], f"{entry.name} README vs {model}"


@pytest.mark.parametrize("command", ["train", "sample", "export", "eval", "publish"])
def test_the_synopsis_lists_every_option(command):
    block = section(GUIDE.read_text(), "## Command line")
    lines = block[block.index(f"genforge {command} "):]
    synopsis = lines[: re.search(r"\ngenforge (?!" + command + r" )", lines).start()]
    parser = build_parser(default_plugins())
    sub = next(a for a in parser._subparsers._group_actions if command in a.choices).choices[command]
    options = [a.option_strings[-1] for a in sub._actions if a.option_strings and a.dest != "help"]
    assert [o for o in options if o not in synopsis] == []


def listing(text: str) -> list[str]:
    """Paths of the documented run folder, in order (``step-NNNNNN`` kept as a pattern)."""
    block = section(text, "## The run folder")
    start = block.index("RUN_DIR/\n") + len("RUN_DIR/\n")
    block = block[start: block.index("```", start)]
    paths: list[str] = []
    folder = ""
    for line in block.splitlines():
        name = line[:36].strip()
        if not name:
            continue  # the description goes on
        if line.startswith("    "):
            name = folder + name
        elif name.endswith("/"):
            folder = name
            continue
        paths.append(re.sub(r"step-\d{6}", "step-N", name))
    return paths


def test_the_run_folder_listing_is_a_real_run(tmp_path):
    from genforge.plot import plot_run

    run = tmp_path / "run"
    genforge.train({"model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
                    "data": {"name": "digits", "size": 8}, "out": str(run),
                    "trainer": {"steps": 2, "batch_size": 32, "progress": False, "ema_decay": 0.9,
                                "loggers": ["tensorboard"]}})
    plot_run(run)
    real = {re.sub(r"tfevents\..*", "tfevents.*", re.sub(r"step-\d{6}", "step-N", str(p.relative_to(run))))
            for p in run.rglob("*") if p.is_file()}
    documented = listing(GUIDE.read_text())
    assert sorted(documented) == sorted(set(documented)), "a file is listed twice"
    assert set(documented) == real


def code_blocks(text: str, language: str) -> list[str]:
    """The contents of the fenced ``language`` blocks of a markdown text."""
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


def test_deploy_guide_shows_the_serving_example_as_it_is():
    shown = [b for b in code_blocks((ROOT / "docs" / "deploy.md").read_text(), "python")
             if b.startswith('"""Serve a genforge ONNX export over HTTP')]
    assert shown == [(ROOT / "examples" / "serve.py").read_text()]


def test_the_readme_layout_names_every_project_and_only_paths_that_exist():
    text = (ROOT / "README.md").read_text()
    block = section(text, "## Layout")
    start = block.index("```\n") + 4
    block = block[start: block.index("```", start)]
    paths = [line.split()[0] for line in block.splitlines()]
    assert [p for p in paths if not (ROOT / p).exists()] == []
    projects = {f"{p.parent.relative_to(ROOT)}/" for p in ROOT.glob("*/*/pyproject.toml")}
    assert sorted(projects - set(paths)) == []


def anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_into_a_page_names_one_of_its_headings():
    blob = "https://github.com/genforge/genforge/blob/main/"
    pages = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("*/*/README.md")]
    broken = []
    for page in pages:
        for target, fragment in re.findall(r"\]\(((?:[^)#\s]*\.md)?)#([^)\s]+)\)", page.read_text()):
            path = (ROOT / target[len(blob):] if target.startswith(blob) else page.parent / target
                    if target else page)
            text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
            if fragment not in {anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}:
                broken.append(f"{page.relative_to(ROOT)}: {target}#{fragment}")
    assert broken == []
