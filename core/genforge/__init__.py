"""genforge: a plugin-based generative-modeling toolkit on PyTorch.

Everything a plugin author uses is importable from here; the rest of the package is
internal. Importing ``genforge`` stays light (no torch): the names below other than
the errors and the hook markers are loaded on first use, so plugin entry modules can
``from genforge import hookimpl`` and keep ``genforge plugins`` and ``genforge --help`` fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from genforge.errors import CheckpointError, ConfigError, DataError, GenforgeError, PluginError
from genforge.hookspecs import hookimpl, hookspec
from genforge.threads import prefer_passive_waits

prefer_passive_waits()  # before torch loads: OpenMP reads its wait policy once

if TYPE_CHECKING:
    from genforge import augment
    from genforge.api import LoadedModel, load, train
    from genforge.capabilities import (
        SupportsEncoderExport,
        SupportsLikelihood,
        SupportsReconstruction,
        supports,
    )
    from genforge.config import RunConfig, TrainerConfig
    from genforge.data.base import Data, TensorData
    from genforge.data.info import DataInfo
    from genforge.entries import (
        Applies,
        DataSourceEntry,
        Exporter,
        ExporterEntry,
        FeatureExtractorEntry,
        Metric,
        MetricEntry,
        ModelEntry,
    )
    from genforge.images import save_samples, save_wav
    from genforge.layers import LabelMap
    from genforge.metrics.context import EvalContext
    from genforge.metrics.extractor import FeatureExtractor
    from genforge.model import GenerativeModel
    from genforge.plugins import Plugins
    from genforge.registrars import (
        CommandRegistrar,
        DataSourceRegistrar,
        ExporterRegistrar,
        FeatureExtractorRegistrar,
        MetricRegistrar,
        ModelRegistrar,
    )
    from genforge.sample_options import SamplerOptions, settings_of
    from genforge.sampling import Process, StepNoise, iterate
    from genforge.trainer import TrainingRun

__version__ = "0.1.0"

_LAZY = {
    "GenerativeModel": "genforge.model",
    "LabelMap": "genforge.layers",
    "DataInfo": "genforge.data.info",
    "Data": "genforge.data.base",
    "TensorData": "genforge.data.base",
    "TrainerConfig": "genforge.config",
    "RunConfig": "genforge.config",
    "TrainingRun": "genforge.trainer",
    "EvalContext": "genforge.metrics.context",
    "FeatureExtractor": "genforge.metrics.extractor",
    "Plugins": "genforge.plugins",
    "train": "genforge.api",
    "load": "genforge.api",
    "LoadedModel": "genforge.api",
    "save_samples": "genforge.images",
    "save_wav": "genforge.images",
    **dict.fromkeys(["ModelRegistrar", "DataSourceRegistrar", "ExporterRegistrar", "MetricRegistrar",
                     "FeatureExtractorRegistrar", "CommandRegistrar"], "genforge.registrars"),
    **dict.fromkeys(["SupportsLikelihood", "SupportsReconstruction", "SupportsEncoderExport", "supports"],
                    "genforge.capabilities"),
    **dict.fromkeys(["ModelEntry", "DataSourceEntry", "ExporterEntry", "MetricEntry",
                     "FeatureExtractorEntry", "Exporter", "Metric", "Applies"], "genforge.entries"),
    "SamplerOptions": "genforge.sample_options",
    "Process": "genforge.sampling",
    "StepNoise": "genforge.sampling",
    "iterate": "genforge.sampling",
    "settings_of": "genforge.sample_options",
}
#: Public modules, imported on first use: ``from genforge import augment``.
_MODULES = {"augment": "genforge.augment"}

__all__ = [
    "Applies", "CheckpointError", "CommandRegistrar", "ConfigError", "Data", "DataError", "DataInfo",
    "DataSourceEntry", "DataSourceRegistrar", "EvalContext", "Exporter", "ExporterEntry",
    "ExporterRegistrar", "FeatureExtractor", "FeatureExtractorEntry", "FeatureExtractorRegistrar",
    "GenerativeModel", "GenforgeError", "LabelMap", "LoadedModel", "Metric", "MetricEntry",
    "MetricRegistrar", "ModelEntry", "ModelRegistrar", "PluginError", "Plugins", "Process", "RunConfig",
    "SamplerOptions", "StepNoise", "SupportsEncoderExport", "SupportsLikelihood",
    "SupportsReconstruction", "TensorData", "TrainerConfig", "TrainingRun", "__version__", "augment",
    "hookimpl", "hookspec", "iterate", "load", "save_samples", "save_wav", "settings_of", "supports",
    "train",
]


def __getattr__(name: str) -> object:
    """A public name loaded on first use (``genforge.train`` imports torch only then)."""
    if name in _LAZY or name in _MODULES:
        module = importlib.import_module(_MODULES.get(name) or _LAZY[name])
        value = module if name in _MODULES else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genforge' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (``dir(genforge)``), the lazily loaded ones included."""
    return sorted(__all__)
