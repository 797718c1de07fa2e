"""Factories shared by training, loading, evaluation and export: device, data and model.

They live apart from the training loop so that loading a checkpoint or scoring a
model never imports the trainer.
"""

from __future__ import annotations

import torch

from genforge.config import ResolvedConfig
from genforge.data.base import Data
from genforge.data.checks import run_source
from genforge.data.info import DataInfo
from genforge.distributed import Process
from genforge.errors import ConfigError, GenforgeError
from genforge.model import GenerativeModel
from genforge.plugins import Plugins
from genforge.sample_options import checked_for


def select_device(spec: str, process: Process | None = None) -> torch.device:
    """Turn ``auto``/``cpu``/``cuda[:N]`` into a usable device, or fail with a clear error.

    Under several processes, ``cuda`` and ``auto`` mean the GPU of the local rank.
    """
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.device = {spec!r}: CUDA is not available on this machine")
    if spec == "cuda" and process is not None and process.distributed:
        spec = f"cuda:{process.local_rank}"
    return torch.device(spec)


def load_data(resolved: ResolvedConfig, plugins: Plugins) -> Data:
    """Run the configured data source; its splits are checked against its ``DataInfo``."""
    return run_source(plugins.get("data_sources", resolved.run.data.name), resolved.data)


def build_model(resolved: ResolvedConfig, info: DataInfo) -> GenerativeModel:
    """Build the configured model family for data described by ``info``."""
    entry = resolved.model_entry
    cls = entry.load()
    if entry.conditional and info.num_classes == 0:
        raise ConfigError(f"model.name = {entry.name!r}: needs labelled data, but data source "
                          f"{resolved.run.data.name!r} has no classes")
    try:
        model = cls(resolved.model, info)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if not isinstance(model, GenerativeModel):
        raise GenforgeError(f"model {entry.name!r} ({entry.plugin.label}) built "
                            f"{type(model).__name__}, expected a GenerativeModel")
    model.sampler_options = checked_for(model, resolved.sampler)
    return model
