"""Hook specifications: the contract between genforge and its plugins.

docs/plugins/hooks.md is the reference for every hook (a test keeps the two in step).
This module imports nothing heavy (no torch): plugin entry modules import ``hookimpl``
from here through ``genforge`` and must stay light themselves. Hooks only ever gain
arguments; pluggy lets an implementation accept fewer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from torch import Tensor

    from genforge.registrars import (
        CommandRegistrar,
        DataSourceRegistrar,
        ExporterRegistrar,
        FeatureExtractorRegistrar,
        MetricRegistrar,
        ModelRegistrar,
    )
    from genforge.trainer import TrainingRun

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("genforge")
hookimpl = pluggy.HookimplMarker("genforge")


@hookspec
def genforge_register_models(register: ModelRegistrar) -> None:
    """Register model families: docs/plugins/hooks.md#genforge_register_models (added in 0.1)."""


@hookspec
def genforge_register_data_sources(register: DataSourceRegistrar) -> None:
    """Register data sources: docs/plugins/hooks.md#genforge_register_data_sources (added in 0.1)."""


@hookspec
def genforge_register_exporters(register: ExporterRegistrar) -> None:
    """Register exporters: docs/plugins/hooks.md#genforge_register_exporters (added in 0.1)."""


@hookspec
def genforge_register_metrics(register: MetricRegistrar) -> None:
    """Register evaluation metrics: docs/plugins/hooks.md#genforge_register_metrics (added in 0.1)."""


@hookspec
def genforge_register_feature_extractors(register: FeatureExtractorRegistrar) -> None:
    """Register feature extractors: docs/plugins/hooks.md#genforge_register_feature_extractors (0.1)."""


@hookspec
def genforge_register_commands(cli: CommandRegistrar) -> None:
    """Add subcommands: docs/plugins/hooks.md#genforge_register_commands (added in 0.1)."""


@hookspec
def genforge_on_train_start(run: TrainingRun) -> None:
    """Before the first step: docs/plugins/hooks.md#genforge_on_train_start (added in 0.1)."""


@hookspec
def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | Tensor]) -> None:
    """After every step: docs/plugins/hooks.md#genforge_on_step_end (added in 0.1)."""


@hookspec
def genforge_on_checkpoint_saved(run: TrainingRun, step: int, path: Path) -> None:
    """After a checkpoint is saved: docs/plugins/hooks.md#genforge_on_checkpoint_saved (added in 0.1)."""


@hookspec
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]) -> None:
    """After the last step: docs/plugins/hooks.md#genforge_on_train_end (added in 0.1)."""
