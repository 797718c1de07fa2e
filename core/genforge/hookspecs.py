"""Hook specifications: the contract between genforge and its plugins.

This module imports nothing heavy (no torch): plugin entry modules import
``hookimpl`` from here through ``genforge`` and must stay light themselves.
Hooks only ever gain arguments; pluggy lets an implementation accept fewer.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("genforge")
hookimpl = pluggy.HookimplMarker("genforge")


@hookspec
def genforge_register_models(register: Any) -> None:
    """Register model families.

    Call ``register(name, model_cls, config_cls, *, conditional, summary, defaults=None,
    tiny=None)`` once per model name. ``model_cls`` is a ``GenerativeModel`` subclass
    or a ``"module:Class"`` string, imported only when a model is built (keeps the
    entry module free of torch). ``config_cls`` is a pydantic model holding the
    model section of a run config. ``defaults`` is an optional dict of run-config
    sections (``{"data": {...}, "model": {...}, "trainer": {...}}``) suggested for
    this model; the user's values always win, and a saved checkpoint keeps the values it
    was trained with (a key it lacks takes the config field's default, not this).
    ``defaults["per_data"]`` may map a data source name to sections suggested when
    training on that source (``{"toy2d": {"trainer": {...}, "model": {...}}}``). ``tiny``
    is a dict of model-section options with which the conformance kit
    (``genforge.testing``) builds a small, quick model.

    :param register: the callback described above.

    .. versionadded:: 0.1
    """


@hookspec
def genforge_register_data_sources(register: Any) -> None:
    """Register data sources.

    Call ``register(name, source, config_cls, summary)``. ``source`` is a callable
    (or ``"module:function"`` string) taking the validated config and returning a
    ``genforge.Data`` (train split, held-out split, ``DataInfo``).

    :param register: the callback described above.

    .. versionadded:: 0.1
    """


@hookspec
def genforge_register_exporters(register: Any) -> None:
    """Register exporters.

    Call ``register(name, exporter, summary)``. ``exporter`` (or a
    ``"module:attr"`` string) has ``export(loaded, path, options) -> Path``, where
    ``loaded`` is the ``genforge.LoadedModel`` that ``genforge.load`` returns and
    ``options`` holds the ``genforge export`` flags (``opset``, ``fp16``, ``output``,
    ``part``, and each ``--option KEY=VALUE``).

    :param register: the callback described above.

    .. versionadded:: 0.1
    """


@hookspec
def genforge_register_metrics(register: Any) -> None:
    """Register evaluation metrics.

    Call ``register(name, metric, summary)``. ``metric`` (or a ``"module:attr"``
    string) is a callable scoring generated samples against real data:
    ``metric(ctx) -> dict[str, float]`` with ``ctx`` a ``genforge.evaluate.EvalContext``.
    Optional keywords: ``applies`` (``ctx -> bool``, or a ``"module:attr"`` string: the
    metric joins ``genforge eval``'s default set where it applies) and ``floor=False``
    (no perfect-generator floor, as for likelihoods).

    :param register: the callback described above.

    .. versionadded:: 0.1
    """


@hookspec
def genforge_register_feature_extractors(register: Any) -> None:
    """Register feature extractors for data sources.

    Call ``register(data_source, extractor, summary)``. ``data_source`` is the name
    of the data source whose images the extractor embeds; ``extractor`` is the path
    of an extractor file (safetensors, as ``genforge features train`` writes), or a
    callable (or ``"module:attr"`` string) returning such a path or a
    ``genforge.metrics.extractor.FeatureExtractor``. ``genforge eval`` uses it for
    the feature-space metrics (``fd``, ``kid``, ``precision`` ...) and ``classes``
    of models trained on that source, unless ``--extractor`` names another file.

    :param register: the callback described above.

    .. versionadded:: 0.1
    """


@hookspec
def genforge_register_commands(cli: Any) -> None:
    """Add subcommands to the ``genforge`` command line.

    ``cli.add_command(name, help=...)`` returns an ``argparse.ArgumentParser``
    to add arguments to; call ``parser.set_defaults(handler=fn)`` where
    ``fn(args) -> int | None`` runs the command. Import heavy modules inside
    ``fn`` so that ``genforge --help`` stays fast.

    :param cli: the command registry described above.

    .. versionadded:: 0.1
    """


@hookspec
def genforge_on_train_start(run: Any) -> None:
    """Called once before the first training step (also after a resume).

    :param run: the ``genforge.TrainingRun``: config, model, data info, output
        folder, device, current step, and ``extras`` (a dict for plugin state).

    .. versionadded:: 0.1
    """


@hookspec
def genforge_on_step_end(run: Any, step: int, metrics: dict[str, Any]) -> None:
    """Called after every training step.

    :param run: the ``genforge.TrainingRun``.
    :param step: the number of steps completed so far.
    :param metrics: what ``train_step`` returned (floats or 0-dim tensors;
        convert with ``float()`` only when needed, as it synchronises the GPU).

    .. versionadded:: 0.1
    """


@hookspec
def genforge_on_checkpoint_saved(run: Any, step: int, path: Any) -> None:
    """Called after a checkpoint folder has been written and made the latest.

    :param run: the ``genforge.TrainingRun``.
    :param step: the step the checkpoint holds.
    :param path: the ``pathlib.Path`` of the checkpoint folder.

    .. versionadded:: 0.1
    """


@hookspec
def genforge_on_train_end(run: Any, metrics: dict[str, float]) -> None:
    """Called once after the last step and the final checkpoint.

    :param run: the ``genforge.TrainingRun``.
    :param metrics: the last step's metrics as floats.

    .. versionadded:: 0.1
    """
