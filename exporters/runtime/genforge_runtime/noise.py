"""The seed contract: every random draw of a sampling request, defined once (numpy only).

A request with seed ``s`` draws from independent streams, stream ``k`` being
``numpy.random.Generator(numpy.random.PCG64(numpy.random.SeedSequence(s, spawn_key=(k,))))``:

- stream 0: random class labels (conditional models asked for no labels), drawn as
  ``floor(random() * num_classes)`` in float64, one per sample;
- stream 1: the latents ``z``, ``standard_normal((n, latent_dim), dtype=float32)``;
- stream ``2 + j``: the noise of step ``j`` of an iterative sampler,
  ``standard_normal((n, *shape), dtype=float32)``.

Rows are samples, drawn in sample order, so drawing batch after batch from the same
streams gives exactly the rows of one draw of all ``n``: the samples of a seed do not
depend on the batch size or the device. Streams are created when first used.
The same property lets ``NoiseStreams(block=B)`` draw labels and latents ``B`` rows at a
time and hand them out in order: the rows are the ones a row-by-row draw gives, at a
fraction of the per-call cost (the runtime does this for requests without a seed).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

LABELS_STREAM = 0
LATENT_STREAM = 1
FIRST_STEP_STREAM = 2


def stream(seed: int, k: int) -> np.random.Generator:
    """Stream ``k`` of ``seed`` (the one construction every draw goes through)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))


class NoiseStreams:
    """The random draws of one sampling request; ``seed=None`` takes fresh entropy from the OS."""

    def __init__(self, seed: int | None = None, block: int = 0) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed: expected a non-negative integer or None, got {seed!r}")
        self.seed = int(np.random.SeedSequence().entropy if seed is None else seed)  # type: ignore[arg-type]
        self._streams: dict[int, np.random.Generator] = {}
        self._block = int(block)
        self._ahead: dict[int, list[Any]] = {}  # stream: [rows drawn ahead, next row, width]
        self._lock = threading.RLock()  # threads of an app may share one sampler

    def generator(self, k: int) -> np.random.Generator:
        """Stream ``k``, created on first use and continued afterwards."""
        g = self._streams.get(k)
        if g is None:
            with self._lock:  # two threads must not each start a copy of one stream
                g = self._streams.get(k)
                if g is None:
                    g = self._streams[k] = stream(self.seed, k)
        return g

    def labels(self, n: int, num_classes: int) -> np.ndarray:
        """The next ``n`` random labels in ``[0, num_classes)`` (int64)."""
        if self._block:
            return self._rows(LABELS_STREAM, num_classes, n)
        return _to_labels(self.generator(LABELS_STREAM).random(n), num_classes)

    def latents(self, n: int, latent_dim: int) -> np.ndarray:
        """The next ``n`` latent rows, float32 ``[n, latent_dim]``."""
        if self._block:
            return self._rows(LATENT_STREAM, latent_dim, n)
        return self.generator(LATENT_STREAM).standard_normal((n, latent_dim), dtype=np.float32)

    def _rows(self, k: int, width: int, n: int) -> np.ndarray:
        """The next ``n`` rows of stream ``k`` (labels of ``width`` classes, or latents of
        ``width`` values), served from blocks drawn ahead (rows never served twice, so views)."""
        with self._lock:
            ahead = self._ahead.get(k)
            if ahead is None or ahead[2] != width or ahead[1] + n > len(ahead[0]):
                ahead = self._ahead[k] = self._draw_ahead(k, width, n, ahead)
            at = ahead[1]
            ahead[1] = at + n
            return ahead[0][at : at + n]

    def _draw_ahead(self, k: int, width: int, n: int, ahead: list[Any] | None) -> list[Any]:
        """A new block of stream ``k``: the rows left of the same width, then fresh ones."""
        rest = [ahead[0][ahead[1]:]] if ahead is not None and ahead[2] == width else []
        count, g = max(self._block, n), self.generator(k)
        if k == LABELS_STREAM:
            fresh = _to_labels(g.random(count), width)
        else:
            fresh = g.standard_normal((count, width), dtype=np.float32)
        return [np.concatenate([*rest, fresh]), 0, width]

    def step(self, j: int, shape: tuple[int, ...]) -> np.ndarray:
        """The next rows of step ``j``'s noise, float32 of ``shape`` (rows first)."""
        return self.generator(FIRST_STEP_STREAM + j).standard_normal(shape, dtype=np.float32)


def _to_labels(u: np.ndarray, num_classes: int) -> np.ndarray:
    """Uniform draws in [0, 1) to labels: ``floor(u * num_classes)`` (int64)."""
    return np.minimum((u * num_classes).astype(np.int64), num_classes - 1)
