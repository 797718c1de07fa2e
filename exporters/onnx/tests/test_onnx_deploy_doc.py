"""docs/deploy.md's `ls -l dist` transcript stays true for today's default cgan."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import genforge
from genforge_onnx.onnx_exporter import exporter

DOC = Path(__file__).resolve().parents[3] / "docs" / "deploy.md"


def test_the_documented_size_of_the_default_cgan_export(tmp_path):
    sizes = {name: int(size) for size, name in re.findall(r"^-rw\S+ +\d+ \S+ \S+ +(\d+) .* (\S+\.onnx)$",
                                                           DOC.read_text(), re.M)}
    assert set(sizes) == {"cgan.onnx", "cgan-fp16.onnx", "cgan-u8.onnx"}
    # the size depends on the architecture, not the weights' values: 2 steps stand for 300
    genforge.train({"model": {"name": "cgan"}, "out": str(tmp_path / "run"),
                    "trainer": {"steps": 2, "progress": False, "sample_every": 0}})
    with contextlib.redirect_stdout(io.StringIO()):
        path = exporter.export(genforge.load(tmp_path / "run", device="cpu"), tmp_path / "cgan.onnx", {})
    # the manifest's text (step, measured error, paths) varies by up to a few hundred bytes
    # between machines; the weights and graph, which this guards, do not
    assert abs(path.stat().st_size - sizes["cgan.onnx"]) <= 1024, (path.stat().st_size, sizes)
