"""The modules of core/genforge import each other without circles.

The graph holds every ``import`` a module runs: at module level and inside functions
(lazy imports still run). Imports under ``if TYPE_CHECKING:`` never run and are left
out: they let a lower layer name a higher layer's type in an annotation (the hook
specs name ``TrainingRun``) without depending on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import genforge

CORE = Path(genforge.__file__).parent


def _module_names(package: Path) -> dict[str, Path]:
    """``{dotted name: file}`` of every module under ``package`` (a package is its ``__init__``)."""
    names = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return ids


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (at any depth of its code)."""
    modules = _module_names(package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skip = _type_checking_only(tree)
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    edges.add(full if full in modules else base)
        graph[name] = {m for m in edges if m in modules and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None when the graph has none."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_core_has_no_import_cycle():
    graph = import_graph(CORE)
    assert len(graph) > 50 and "genforge.build" in graph["genforge.api"]
    assert "genforge.evaluate" in graph["genforge.cli"]  # imported inside a function
    assert "genforge.metrics.context" in graph["genforge.metrics.likelihood"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_reports_a_cycle_through_a_lazy_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                                "    from pkg.high import High\n")
    (pkg / "high.py").write_text("from pkg import low\n")
    assert find_cycle(import_graph(pkg)) is None  # a typing-only import is no dependency
    (pkg / "low.py").write_text("def helper():\n    from .high import High\n    return High\n")
    assert find_cycle(import_graph(pkg)) in (["pkg.high", "pkg.low", "pkg.high"],
                                             ["pkg.low", "pkg.high", "pkg.low"])
