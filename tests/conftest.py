"""Shared fixtures: fake plugin distributions and tiny configs."""

from __future__ import annotations

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
