"""genforge-onnx: export a genforge checkpoint to a verified ONNX file (or a Triton model).

Importing this package stays light: torch and onnx load only when an export runs.
``genforge export CHECKPOINT --format onnx --out model.onnx`` is the usual entry; from
Python, ``genforge_onnx.onnx_exporter.exporter.export(genforge.load(ckpt), path, {})``.
"""

from __future__ import annotations

__version__ = "0.1.0"
