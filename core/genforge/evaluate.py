"""Evaluation: run registered metrics on a loaded model over several seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from genforge.api import LoadedModel
from genforge.data.base import Data, TensorData
from genforge.errors import GenforgeError
from genforge.plugins import Plugins, default_plugins
from genforge.trainer import load_data


@dataclass
class EvalContext:
    """What a metric receives: the model, its data, the sample count, the seed and options."""

    loaded: LoadedModel
    data: Data
    n: int
    seed: int
    options: dict[str, Any] = field(default_factory=dict)
    _samples: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def generator(self) -> torch.Generator:
        """A fresh CPU generator seeded with this context's seed."""
        return torch.Generator().manual_seed(self.seed)

    def real(self, split: str = "test") -> tuple[torch.Tensor, torch.Tensor | None]:
        """All samples (and labels) of a split as tensors; ``test`` is the held-out split."""
        ds = self.data.test if split == "test" else self.data.train
        if ds is None:
            raise GenforgeError(f"data source {self.data.info.name!r} has no {split} split")
        if not isinstance(ds, TensorData):
            raise GenforgeError(f"metrics need an in-memory data source, got {type(ds).__name__}")
        return ds.x, ds.y

    def samples(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` generated samples for this seed (balanced classes for conditional models), cached."""
        if self._samples is None:
            model = self.loaded.model
            labels = None
            if model.conditional:
                labels = torch.arange(self.n) % self.data.info.num_classes
            x = model.sample(self.n, labels=labels, generator=self.generator()).float().cpu()
            self._samples = (x, labels)
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


def evaluate(
    loaded: LoadedModel,
    metrics: Sequence[str],
    n: int = 1000,
    seeds: int = 3,
    options: dict[str, Any] | None = None,
    plugins: Plugins | None = None,
) -> dict[str, dict[str, Any]]:
    """Run each named metric for seeds 0..seeds-1; return ``{value name: summary}``."""
    plugins = plugins or default_plugins()
    fns = {name: plugins.get("metrics", name).load() for name in metrics}
    data = load_data(loaded.config, plugins)
    per_value: dict[str, list[float]] = {}
    for seed in range(seeds):
        ctx = EvalContext(loaded, data, n, seed, dict(options or {}))
        for fn in fns.values():
            for key, value in fn(ctx).items():
                per_value.setdefault(key, []).append(float(value))
    return {key: summarise(values) for key, values in per_value.items()}
