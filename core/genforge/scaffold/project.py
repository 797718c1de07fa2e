"""Rendering the templates into a new plugin project folder."""

from __future__ import annotations

import keyword
import re
from importlib.resources import files
from pathlib import Path
from string import Template

from genforge import __version__
from genforge.errors import GenforgeError

KINDS: dict[str, dict[str, str]] = {
    "generic": {"summary": "a diagonal Gaussian over the data, a starting point for any model",
                "tiny": "{}"},
    "gan": {"summary": "a GAN with MLP generator and discriminator",
            "tiny": '{"hidden": 32, "latent_dim": 8}'},
    "vae": {"summary": "a variational autoencoder with MLP encoder and decoder",
            "tiny": '{"hidden": 32, "latent_dim": 4}'},
}

#: The data-source template set (``genforge plugins new --kind data-source``).
DATA_SOURCE = "data-source"
DATA_SOURCE_SUMMARY = "synthetic quadrant images, a starting point for any data source"

#: Output path -> template path of a model family; ``{package}`` and ``{kind}`` are filled in.
FILES = {
    "pyproject.toml": "common/pyproject.toml.tmpl",
    "README.md": "common/README.md.tmpl",
    "{package}/__init__.py": "common/__init__.py.tmpl",
    "{package}/plugin.py": "common/plugin.py.tmpl",
    "{package}/config.py": "{kind}/config.py.tmpl",
    "{package}/model.py": "{kind}/model.py.tmpl",
    "tests/test_{package}_conformance.py": "common/test_conformance.py.tmpl",
}

#: Output path -> template path of a data source.
DATA_SOURCE_FILES = {
    "pyproject.toml": "common/pyproject.toml.tmpl",
    "README.md": "data-source/README.md.tmpl",
    "{package}/__init__.py": "common/__init__.py.tmpl",
    "{package}/plugin.py": "data-source/plugin.py.tmpl",
    "{package}/config.py": "data-source/config.py.tmpl",
    "{package}/source.py": "data-source/source.py.tmpl",
    "tests/test_{package}_conformance.py": "data-source/test_conformance.py.tmpl",
}

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def supported_range(version: str = __version__) -> str:
    """The genforge range a new plugin declares: this minor series (``>=0.1,<0.2``; ``>=1.2,<2``)."""
    major, minor = (int(p) for p in version.split(".")[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else str(major + 1)
    return f">={major}.{minor},<{upper}"


def names_for(name: str) -> dict[str, str]:
    """Template values derived from a model (or data source) name: distribution, package, class title."""
    if not NAME.match(name) or name.endswith(("-", "_")):
        raise GenforgeError(f"plugin name {name!r}: use lowercase letters, digits, '-' and '_', "
                            "starting with a letter (it becomes the model name)")
    package = "genforge_" + name.replace("-", "_")
    title = "".join(part.capitalize() for part in re.split(r"[-_]", name))
    if keyword.iskeyword(package) or not package.isidentifier() or not title.isidentifier():
        raise GenforgeError(f"plugin name {name!r}: does not make a valid Python package name")
    return {"name": name, "dist": f"genforge-{name.replace('_', '-')}", "package": package,
            "title": title, "genforge_range": supported_range()}


def render(name: str, kind: str) -> dict[str, str]:
    """The project's files (relative path -> text) for model ``name`` of family kind ``kind``.

    ``kind = "data-source"`` renders a data source named ``name`` instead.
    """
    if kind == DATA_SOURCE:
        values, templates = {**names_for(name), "summary": DATA_SOURCE_SUMMARY}, DATA_SOURCE_FILES
    elif kind in KINDS:
        values, templates = {**names_for(name), **KINDS[kind]}, FILES
    else:
        raise GenforgeError(f"--family-kind {kind!r}: choose one of {', '.join(KINDS)}")
    root = files("genforge.scaffold") / "templates"
    out = {}
    for target, source in templates.items():
        text = (root / source.format(kind=kind)).read_text(encoding="utf-8")
        out[target.format(package=values["package"])] = Template(text).substitute(values)
    return out


def write_project(name: str, kind: str = "generic", dest: Path | None = None) -> Path:
    """Write a new plugin project to ``dest`` (default ``./genforge-NAME``); return its folder."""
    project = render(name, kind)
    folder = Path(dest) if dest is not None else Path.cwd() / names_for(name)["dist"]
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise GenforgeError(f"{folder}: already exists and is not an empty folder; choose "
                            "another --dir")
    for rel, text in project.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
