"""Evaluation: run registered metrics on a loaded model over several seeds."""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from genforge.api import LoadedModel
from genforge.build import load_data
from genforge.data.base import Data, TensorData
from genforge.errors import GenforgeError
from genforge.plugins import Plugins, default_plugins


@dataclass
class EvalContext:
    """What a metric receives: the model, its data, the sample count, the seed and options.

    ``floor`` contexts stand for a perfect generator: their ``samples()`` are real
    training images, so the metrics measure the training split against the held-out
    one. ``cached(key, fn)`` shares work between metrics: per seed, or with
    ``shared=True`` across all seeds (and the floor) of one evaluation.
    """

    loaded: LoadedModel | None
    data: Data
    n: int
    seed: int
    options: dict[str, Any] = field(default_factory=dict)
    _samples: tuple[torch.Tensor, torch.Tensor | None] | None = None
    floor: bool = False
    shared: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def generator(self) -> torch.Generator:
        """A fresh CPU generator seeded with this context's seed."""
        return torch.Generator().manual_seed(self.seed)

    @property
    def conditional(self) -> bool:
        """True for a conditional model: its samples (and a floor's) carry the requested classes."""
        if self.loaded is not None:
            return bool(self.loaded.model.conditional)
        return bool(self.options.get("conditional", False))

    def cached(self, key: str, fn: Callable[[], Any], shared: bool = False) -> Any:
        """``fn()``, computed once per seed (or once per evaluation with ``shared``)."""
        store = self.shared if shared else self.cache
        if key not in store:
            store[key] = fn()
        return store[key]

    def real(self, split: str = "test") -> tuple[torch.Tensor, torch.Tensor | None]:
        """All samples (and labels) of a split as tensors; ``test`` is the held-out split."""
        ds = self.data.test if split == "test" else self.data.train
        if ds is None:
            raise GenforgeError(f"data source {self.data.info.name!r} has no {split} split")
        if not isinstance(ds, TensorData):
            raise GenforgeError(f"metrics need an in-memory data source, got {type(ds).__name__}")
        return ds.x, ds.y

    def samples(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` generated samples for this seed (balanced classes for conditional models), cached.

        In a floor context: ``min(n, training split)`` training images drawn without replacement.
        """
        if self._samples is None:
            start = time.perf_counter()
            if self.floor:
                x, y = self.real("train")
                idx = torch.randperm(len(x), generator=self.generator())[: self.n]
                self._samples = (x[idx].float(), y[idx] if y is not None else None)
            else:
                if self.loaded is None:
                    raise GenforgeError("EvalContext: no model to sample and no samples given")
                model = self.loaded.model
                labels = None
                if model.conditional:
                    labels = torch.arange(self.n) % self.data.info.num_classes
                x = model.sample(self.n, labels=labels, generator=self.generator()).float().cpu()
                self._samples = (x, labels)
            self.cache["sample_seconds"] = time.perf_counter() - start
        return self._samples


@torch.no_grad()
def reconstruction_grid(loaded: LoadedModel, n: int, plugins: Plugins | None = None) -> torch.Tensor:
    """``[2n, ...]``: the first ``n`` held-out samples, each followed by its reconstruction."""
    model = loaded.model
    if not callable(getattr(model, "reconstruct", None)):
        raise GenforgeError(f"model {loaded.config.run.model.name!r} cannot reconstruct "
                            "(it has no reconstruct method)")
    ctx = EvalContext(loaded, load_data(loaded.config, plugins or default_plugins()), n, 0)
    x, y = ctx.real("test")
    x, y = x[:n], (y[:n] if y is not None and model.conditional else None)
    model.eval()
    recon = model.reconstruct(x.to(loaded.device), y.to(loaded.device) if y is not None else None)
    return torch.stack([x.float(), recon.float().cpu()], dim=1).flatten(0, 1)


def summarise(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation and the values themselves."""
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "per_seed": list(values)}


def _target(value: Any) -> Any:
    """A callable from a callable or a ``"module:attr"`` string."""
    if not isinstance(value, str):
        return value
    module, _, attr = value.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def default_metrics(ctx: EvalContext, plugins: Plugins) -> list[str]:
    """Registered metrics whose ``applies(ctx)`` check accepts this model and data."""
    names = []
    for name in plugins.registries["metrics"]:  # registration order: related values stay together
        applies = plugins.get("metrics", name).options.get("applies")
        if applies is not None and _target(applies)(ctx):
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
) -> dict[str, dict[str, Any]]:
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
    shared: dict[str, Any] = {"plugins": plugins}
    opts = dict(options or {})
    probe = EvalContext(loaded, data, n, 0, opts, shared=shared)
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
        runs = [(EvalContext(loaded, data, n, seed, dict(opts), shared=shared), per_value)]
        if floor:
            runs.append((EvalContext(loaded, data, n, seed, dict(opts), floor=True, shared=shared),
                         floor_values))
        for ctx, sink in runs:
            start = time.perf_counter()
            for name, fn in fns.items():
                if ctx.floor and entries[name].options.get("floor", True) is False:
                    continue
                began, sampled = time.perf_counter(), ctx.cache.get("sample_seconds", 0.0)
                for key, value in fn(ctx).items():
                    sink.setdefault(key, []).append(float(value))
                if not ctx.floor:  # the model's sampling is not the metric's time
                    spent = time.perf_counter() - began - (ctx.cache.get("sample_seconds", 0.0) - sampled)
                    by_metric[name] += spent / seeds
            if not ctx.floor:
                seconds.append(time.perf_counter() - start - ctx.cache.get("sample_seconds", 0.0))
    results = {key: summarise(values) for key, values in per_value.items()}
    for key, values in floor_values.items():
        results.setdefault(key, {"mean": math.nan, "std": math.nan, "per_seed": []})["floor"] = \
            summarise(values)
    if meta is not None:
        from genforge.metrics.views import summary

        train = data.train if isinstance(data.train, TensorData) else None
        test = data.test if isinstance(data.test, TensorData) else None
        meta.update(metrics=names, n=n, seeds=seeds, floor=floor,
                    floor_n=min(n, len(train)) if train is not None else None,
                    held_out=len(test) if test is not None else 0,
                    trained_shape=list(loaded.info.shape),
                    metric_seconds_per_seed=summarise(seconds) if seconds else None,
                    seconds_by_metric=by_metric,
                    **(summary(probe) if data.test is not None else {}))
    return results
