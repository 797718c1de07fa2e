"""genforge: a plugin-based generative-modeling toolkit on PyTorch.

Importing ``genforge`` stays light (no torch): the torch-backed names below are
loaded on first use, so plugin entry modules can ``from genforge import hookimpl``
and keep ``genforge plugins`` and ``genforge --help`` fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from genforge.errors import CheckpointError, ConfigError, DataError, GenforgeError, PluginError
from genforge.hookspecs import hookimpl, hookspec

__version__ = "0.1.0"

_LAZY = {
    "GenerativeModel": "genforge.model",
    "DataInfo": "genforge.data.info",
    "Data": "genforge.data.base",
    "TensorData": "genforge.data.base",
    "TrainerConfig": "genforge.config",
    "RunConfig": "genforge.config",
    "TrainingRun": "genforge.trainer",
    "Plugins": "genforge.plugins",
    "train": "genforge.api",
    "load": "genforge.api",
    "LoadedModel": "genforge.api",
    "save_samples": "genforge.images",
}

__all__ = [
    "CheckpointError", "ConfigError", "DataError", "GenforgeError", "PluginError",
    "hookimpl", "hookspec", "__version__", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genforge' has no attribute {name!r}")
