"""``EvalContext``: what a metric receives, and the per-seed and shared caches it offers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import torch

from genforge.data.base import Data
from genforge.data.stream import StreamedSplit
from genforge.errors import GenforgeError

if TYPE_CHECKING:
    from genforge.api import LoadedModel
    from genforge.plugins import Plugins

T = TypeVar("T")


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
    shared: dict[str, object] = field(default_factory=dict)
    cache: dict[str, object] = field(default_factory=dict)
    plugins: Plugins | None = None  # the plugins that registered the metrics (None: the installed ones)
    sample_seconds: float = 0.0  # time spent drawing ``samples()``

    def generator(self) -> torch.Generator:
        """A fresh CPU generator seeded with this context's seed."""
        return torch.Generator().manual_seed(self.seed)

    @property
    def conditional(self) -> bool:
        """True for a conditional model: its samples (and a floor's) carry the requested classes."""
        if self.loaded is not None:
            return bool(self.loaded.model.conditional)
        return bool(self.options.get("conditional", False))

    def cached(self, key: str, fn: Callable[[], T], shared: bool = False) -> T:
        """``fn()``, computed once per seed (or once per evaluation with ``shared``)."""
        store = self.shared if shared else self.cache
        if key not in store:
            store[key] = fn()
        return cast(T, store[key])  # stored by this method under this key

    def real(self, split: str = "test", limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """All samples (and labels) of a split as tensors; ``test`` is the held-out split.

        ``limit``: what a streamed split (``shards``) gives instead, its first ``limit`` samples.
        """
        return self.data.tensors(split, limit=limit)

    def samples(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` generated samples for this seed (balanced classes for conditional models), cached.

        In a floor context: ``min(n, training split)`` training images drawn without replacement
        (from a streamed training split: its first ``n`` as stored, in a seeded order).
        """
        if self._samples is None:
            start = time.perf_counter()
            if self.floor and isinstance(self.data.train, StreamedSplit):
                x, y = self.real("train", limit=self.n)
                idx = torch.randperm(len(x), generator=self.generator())[: self.n]
                self._samples = (x[idx].float(), y[idx] if y is not None else None)
            elif self.floor:  # only the drawn rows are read: a memory-mapped split stays on disk
                idx = torch.randperm(len(self.data.train),  # type: ignore[arg-type]
                                     generator=self.generator())[: self.n]
                x, y = self.data.tensors("train", idx)
                self._samples = (x.float(), y)
            else:
                if self.loaded is None:
                    raise GenforgeError("EvalContext: no model to sample and no samples given")
                model = self.loaded.model
                labels = None
                if model.conditional:
                    labels = torch.arange(self.n) % self.data.info.num_classes
                x = model.sample(self.n, labels=labels, generator=self.generator()).float().cpu()
                self._samples = (x, labels)
            self.sample_seconds = time.perf_counter() - start
        return self._samples
