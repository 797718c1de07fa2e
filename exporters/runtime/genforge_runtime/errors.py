"""The runtime's exceptions (each message is one line)."""

from __future__ import annotations


class RuntimeUnavailable(RuntimeError):
    """The requested device cannot run the model (e.g. ``device="cuda"`` without a usable GPU)."""


class NotAGenforgeModel(ValueError):
    """The file is not an ONNX model exported by genforge (no ``genforge.*`` metadata)."""
