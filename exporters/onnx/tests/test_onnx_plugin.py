"""Registration: the exporters are found by name, and the entry module stays light."""

from __future__ import annotations

import subprocess
import sys

import genforge
from genforge_onnx.onnx_exporter import OnnxExporter
from genforge_onnx.triton import TritonExporter


def test_exporters_are_registered_by_name():
    plugins = genforge.Plugins()
    assert isinstance(plugins.get("exporters", "onnx").load(), OnnxExporter)
    assert isinstance(plugins.get("exporters", "triton").load(), TritonExporter)
    assert plugins.get("exporters", "onnx").plugin.dist == "genforge-onnx"


def test_listing_plugins_imports_neither_torch_nor_onnx():
    code = ("import sys, genforge\n"
            "p = genforge.Plugins(); p.names('exporters')\n"
            "heavy = sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'onnxscript') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
