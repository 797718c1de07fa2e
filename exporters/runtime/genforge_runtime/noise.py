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
"""

from __future__ import annotations

import numpy as np

LABELS_STREAM = 0
LATENT_STREAM = 1
FIRST_STEP_STREAM = 2


def stream(seed: int, k: int) -> np.random.Generator:
    """Stream ``k`` of ``seed`` (the one construction every draw goes through)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))


class NoiseStreams:
    """The random draws of one sampling request; ``seed=None`` takes fresh entropy from the OS."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed: expected a non-negative integer or None, got {seed!r}")
        self.seed = int(np.random.SeedSequence().entropy if seed is None else seed)  # type: ignore[arg-type]
        self._streams: dict[int, np.random.Generator] = {}

    def generator(self, k: int) -> np.random.Generator:
        """Stream ``k``, created on first use and continued afterwards."""
        g = self._streams.get(k)
        if g is None:
            g = self._streams[k] = stream(self.seed, k)
        return g

    def labels(self, n: int, num_classes: int) -> np.ndarray:
        """The next ``n`` random labels in ``[0, num_classes)`` (int64)."""
        u = self.generator(LABELS_STREAM).random(n)
        return np.minimum((u * num_classes).astype(np.int64), num_classes - 1)

    def latents(self, n: int, latent_dim: int) -> np.ndarray:
        """The next ``n`` latent rows, float32 ``[n, latent_dim]``."""
        return self.generator(LATENT_STREAM).standard_normal((n, latent_dim), dtype=np.float32)

    def step(self, j: int, shape: tuple[int, ...]) -> np.ndarray:
        """The next rows of step ``j``'s noise, float32 of ``shape`` (rows first)."""
        return self.generator(FIRST_STEP_STREAM + j).standard_normal(shape, dtype=np.float32)
