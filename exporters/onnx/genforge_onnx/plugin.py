"""Entry module: registers the ``onnx`` and ``triton`` exporters (imports no torch or onnx)."""

from __future__ import annotations

from typing import Any

from genforge import hookimpl


@hookimpl
def genforge_register_exporters(register: Any) -> None:
    """Register the single-file ONNX exporter and the Triton model-repository exporter."""
    register("onnx", "genforge_onnx.onnx_exporter:exporter",
             summary="one verified .onnx file with the genforge manifest in its metadata")
    register("triton", "genforge_onnx.triton:exporter",
             summary="a Triton model repository entry: NAME/config.pbtxt + NAME/1/model.onnx")
