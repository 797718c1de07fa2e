"""The public face: a plugin author's names come from ``genforge``, lazily; the families use no others."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import genforge

ROOT = Path(__file__).resolve().parents[1]
#: The first-party families' package code (their tests may use internals to set up fixtures).
FAMILY_CODE = sorted(p for d in ("plugins", "exporters", "examples")
                     for p in (ROOT / d).glob("*/genforge_*/**/*.py"))


def core_uses(path: Path) -> list[str]:
    """``genforge.X`` modules and names a file imports or reads, as ``module`` or ``genforge:name``."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "genforge":
            if node.module == "genforge":
                found += [f"genforge:{a.name}" for a in node.names]
            else:
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("genforge.")]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "genforge"):
            found.append(f"genforge:{node.attr}")
    return found


def test_first_party_families_use_only_the_public_names():
    assert len(FAMILY_CODE) > 20  # the scan sees the gan, vae, flow and onnx packages
    public = {f"genforge:{n}" for n in genforge.__all__}
    outside = {f"{p.relative_to(ROOT)}: {use}" for p in FAMILY_CODE for use in core_uses(p)
               if use not in public}
    assert outside == set()


def test_the_scan_sees_a_private_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import genforge\nfrom genforge.layers import LabelMap\nx = genforge.trainer\n")
    assert core_uses(bad) == ["genforge.layers", "genforge:trainer"]


def test_every_public_name_resolves_and_the_plugin_names_cost_no_torch():
    for name in genforge.__all__:
        assert getattr(genforge, name) is not None, name
    code = ("import sys, genforge\n"
            "from genforge import (hookimpl, DataError, ModelRegistrar, DataSourceRegistrar,\n"
            "    ExporterRegistrar, MetricRegistrar, FeatureExtractorRegistrar, CommandRegistrar,\n"
            "    ModelEntry, Exporter, Plugins)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_dir_shows_the_public_names_without_loading_them():
    code = ("import sys, genforge\n"
            "names = dir(genforge)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "print(' '.join(names))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    shown = out.split()
    assert shown == sorted(genforge.__all__)
    assert {"train", "load", "save_samples", "GenerativeModel", "hookimpl", "__version__"} <= set(shown)
    assert set(genforge._LAZY) <= set(genforge.__all__)  # every lazily loaded name is public
