"""Entry module: registers the ``onnx`` and ``triton`` exporters (imports no torch or onnx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge import hookimpl

if TYPE_CHECKING:
    from genforge import ExporterRegistrar


@hookimpl
def genforge_register_exporters(register: ExporterRegistrar) -> None:
    """Register the single-file ONNX exporter and the Triton model-repository exporter."""
    register("onnx", "genforge_onnx.onnx_exporter:exporter",
             summary="one verified .onnx file with the genforge manifest in its metadata")
    register("triton", "genforge_onnx.triton:exporter",
             summary="a Triton model repository entry: NAME/config.pbtxt + NAME/1/model.onnx")
