"""Evaluation: run registered metrics on a loaded model over several seeds."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, TypedDict

from genforge.api import LoadedModel
from genforge.build import load_data
from genforge.data.base import Data, TensorData
from genforge.data.stream import StreamedSplit
from genforge.errors import GenforgeError
from genforge.metrics.context import EvalContext
from genforge.metrics.feature_space import summary
from genforge.plugins import Plugins, default_plugins


class Summary(TypedDict):
    """One value over seeds: the mean, the sample standard deviation and the values themselves."""

    mean: float
    std: float
    per_seed: list[float]


class Result(Summary, total=False):
    """What ``evaluate`` returns per value: its summary, and the perfect generator's (``floor``)."""

    floor: Summary


def summarise(values: Sequence[float]) -> Summary:
    """Mean, sample standard deviation and the values themselves."""
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "per_seed": list(values)}


def default_metrics(ctx: EvalContext, plugins: Plugins) -> list[str]:
    """Registered metrics whose ``applies(ctx)`` check accepts this model and data."""
    names = []
    for name in plugins.registries["metrics"]:  # registration order: related values stay together
        if plugins.get("metrics", name).applies_to(ctx):
            names.append(name)
    return names


def evaluate(
    loaded: LoadedModel,
    metrics: Sequence[str] | None = None,
    n: int = 1000,
    seeds: int = 3,
    options: dict[str, Any] | None = None,
    plugins: Plugins | None = None,
    floor: bool = False,
    meta: dict[str, Any] | None = None,
    data: Data | None = None,
) -> dict[str, Result]:
    """Run each named metric for seeds 0..seeds-1; return ``{value name: summary}``.

    ``metrics=None`` runs every registered metric that applies to the model and data.
    With ``floor``, each summary also holds ``"floor"``: the same value for a perfect
    generator (training images scored against the held-out split; metrics registered
    with ``floor=False``, such as ``nll``, have none). ``meta``, when given, is filled
    with how the evaluation ran (metrics, sample counts, extractor, timings). ``data``
    saves loading the model's data source again.
    """
    plugins = plugins or default_plugins()
    data = data if data is not None else load_data(loaded.config, plugins)
    shared: dict[str, object] = {}
    opts = dict(options or {})
    probe = EvalContext(loaded, data, n, 0, opts, shared=shared, plugins=plugins)
    names = list(metrics) if metrics is not None else default_metrics(probe, plugins)
    if not names:
        raise GenforgeError(f"no registered metric applies to {loaded.config.run.model.name!r} on "
                            f"{loaded.config.run.data.name!r} (image metrics need a held-out split and "
                            "a feature extractor: --extractor FILE); name one with --metrics")
    entries = {name: plugins.get("metrics", name) for name in names}
    fns = {name: entry.load() for name, entry in entries.items()}
    per_value: dict[str, list[float]] = {}
    floor_values: dict[str, list[float]] = {}
    seconds: list[float] = []
    by_metric: dict[str, float] = dict.fromkeys(fns, 0.0)
    for seed in range(seeds):
        runs = [(EvalContext(loaded, data, n, seed, dict(opts), shared=shared, plugins=plugins), per_value)]
        if floor:
            runs.append((EvalContext(loaded, data, n, seed, dict(opts), floor=True, shared=shared,
                                     plugins=plugins), floor_values))
        for ctx, sink in runs:
            start = time.perf_counter()
            for name, fn in fns.items():
                if ctx.floor and not entries[name].floor:
                    continue
                began, sampled = time.perf_counter(), ctx.sample_seconds
                for key, value in fn(ctx).items():
                    sink.setdefault(key, []).append(float(value))
                if not ctx.floor:  # the model's sampling is not the metric's time
                    spent = time.perf_counter() - began - (ctx.sample_seconds - sampled)
                    by_metric[name] += spent / seeds
            if not ctx.floor:
                seconds.append(time.perf_counter() - start - ctx.sample_seconds)
    results: dict[str, Result] = {key: Result(**summarise(values)) for key, values in per_value.items()}
    for key, values in floor_values.items():
        results.setdefault(key, {"mean": math.nan, "std": math.nan, "per_seed": []})["floor"] = \
            summarise(values)
    if meta is not None:
        train = data.train if isinstance(data.train, (TensorData, StreamedSplit)) else None
        test = data.test if isinstance(data.test, TensorData) else None
        meta.update(metrics=names, n=n, seeds=seeds, floor=floor,
                    floor_n=min(n, len(train)) if train is not None else None,
                    held_out=len(test) if test is not None else 0,
                    trained_shape=list(loaded.info.shape),
                    metric_seconds_per_seed=summarise(seconds) if seconds else None,
                    seconds_by_metric=by_metric,
                    **(summary(probe) if data.test is not None else {}))
    return results
