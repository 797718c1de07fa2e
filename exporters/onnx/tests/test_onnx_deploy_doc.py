"""docs/deploy.md stays true: the `ls -l dist` sizes for today's default cgan, the step export's
sizes for the test family, and the speed section's ratios and sentences for its own tables."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from pathlib import Path
from types import ModuleType

import genforge
from genforge_onnx.onnx_exporter import exporter

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "deploy.md"
#: The export options of each file of the transcript (section 1's commands).
FILES = {"cgan.onnx": {}, "cgan-fp16.onnx": {"fp16": True}, "cgan-u8.onnx": {"output": "uint8"}}
#: The one part of a file that depends on the weights' values: the manifest's max_abs_error,
#: written as ``{:.6g}``, from "0" to "1.23457e-07" (11 characters).
ERROR_TEXT_SPREAD = len("1.23457e-07") - len("0")


def test_the_documented_sizes_of_the_default_cgan_exports(tmp_path):
    sizes = {name: int(size) for size, name in re.findall(r"^-rw\S+ +\d+ \S+ \S+ +(\d+) .* (\S+\.onnx)$",
                                                           DOC.read_text(), re.M)}
    assert set(sizes) == set(FILES)
    # the size depends on the architecture, not the weights' values: 2 steps stand for 300
    genforge.train({"model": {"name": "cgan"}, "out": str(tmp_path / "run"),
                    "trainer": {"steps": 2, "progress": False, "sample_every": 0}})
    loaded = genforge.load(tmp_path / "run", device="cpu")
    real = {}
    for name, options in FILES.items():
        with contextlib.redirect_stdout(io.StringIO()):
            real[name] = exporter.export(loaded, tmp_path / name, options).stat().st_size
    off = {name: real[name] - sizes[name] for name in FILES
           if abs(real[name] - sizes[name]) > ERROR_TEXT_SPREAD}
    assert not off, f"deploy.md's ls -l sizes are off by {off} bytes: rerun section 1's commands ({real})"


def benchmark(name: str) -> ModuleType:
    """The script ``benchmarks/NAME.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def speed_tables() -> list[list[list[str]]]:
    """The samples/s tables of deploy.md's speed section, each as rows of cells (header first)."""
    text = DOC.read_text()
    section = text[text.index("## 6. Speed"):]
    tables = re.findall(r"^\| family \| batch \|.*?\n(?=[^|])", section, re.M | re.S)
    return [[[c.strip() for c in line.strip().strip("|").split("|")]
             for line in t.splitlines() if "---" not in line] for t in tables]


def rates(head: list[str], cells: list[str]) -> dict[str, float]:
    """``{engine: samples/s}`` of one table row."""
    return {h.removesuffix(" (samples/s)"): float(c.replace(",", ""))
            for h, c in zip(head, cells, strict=True) if h.endswith(" (samples/s)")}


def test_every_speed_ratio_follows_from_the_rates_beside_it():
    tables = speed_tables()
    assert len(tables) >= 2
    for head, *rows in tables:
        ratios = [(h, *h.split(" / ")) for h in head if " / " in h]
        assert ratios, head
        for cells in rows:
            r, row = rates(head, cells), dict(zip(head, cells, strict=True))
            for column, a, b in ratios:
                # the oldest table divided unrounded rates: allow the last digit
                assert abs(float(row[column].rstrip("x")) - r[a] / r[b]) <= 0.0101, (cells, column)


def test_the_speed_sentences_are_what_the_first_table_says():
    head, *rows = speed_tables()[0]
    measured = [(cells[0], int(cells[1]), rates(head, cells)) for cells in rows]
    text = DOC.read_text()
    block = re.search(r"<!-- onnx-vs-torch-reading:start -->\n(.*?)<!-- onnx-vs-torch-reading:end -->",
                      text, re.S)
    assert block, "the reading block of the speed section is missing"
    assert block.group(1).splitlines() == benchmark("onnx_vs_torch").reading(measured)


def test_the_documented_sizes_of_the_step_export(tmp_path, capsys):
    loop = benchmark("runtime_loop")
    loaded = loop.tiny_step_model(tmp_path)
    loop.export_sizes(loaded, tmp_path, loaded.path / "model.safetensors")
    text = DOC.read_text()
    start = text.index("```\n", text.index("benchmarks/runtime_loop.py --rounds 0")) + 4
    block = text[start: text.index("```", start)]
    shown, real = ([int(b.replace(",", "")) for b in re.findall(r"([\d,]+) bytes", t)]
                   for t in (block, capsys.readouterr().out))
    assert len(shown) == len(real) == 5  # weights, limit, three exports
    assert shown[:2] == real[:2]
    off = [b - a for a, b in zip(shown[2:], real[2:], strict=True) if abs(b - a) > ERROR_TEXT_SPREAD]
    assert not off, f"rerun benchmarks/runtime_loop.py --rounds 0: it prints {real}, deploy.md shows {shown}"
    weights, export = shown[0], shown[2]
    extra_kb = (export - weights) / 1000
    sentence = f"{export / weights:.1f}x the weights of this tiny network (+{extra_kb:.0f} KB"
    assert sentence in " ".join(text.split())
