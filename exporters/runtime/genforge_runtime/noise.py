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
Without a seed, streams start from fresh OS entropy, and a forked child process starts
new ones (its draws differ from its parent's).
The same property lets ``NoiseStreams(block=B)`` draw labels and latents ``B`` rows at a
time and hand them out in order: the rows are the ones a row-by-row draw gives, at a
fraction of the per-call cost (the runtime does this for requests without a seed, and
draws the next block on a worker thread while the current one is handed out).

Creating a stream costs numpy about 12 us (``SeedSequence`` and ``PCG64``), as much as a
small network's step. ``NoiseStreams.prepare_steps`` hashes the seed words of many steps' streams in
one vectorised pass (``spawned_states``: numpy's ``SeedSequence`` algorithm, checked
against it by the tests); each of them is then created in about 2 us, the same generator.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import numpy as np

from genforge_runtime.ahead import background

LABELS_STREAM = 0
LATENT_STREAM = 1
FIRST_STEP_STREAM = 2


def stream(seed: int, k: int) -> np.random.Generator:
    """Stream ``k`` of ``seed`` (the one construction every draw goes through)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))


_M32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _POOL = 0xCA01F9DD, 0x4973F715, 4


def _hashmix(value: int, const: int) -> tuple[int, int]:
    value = (value ^ const) & _M32
    const = (const * _MULT_A) & _M32
    value = (value * const) & _M32
    return value ^ (value >> 16), const


def _mix(x: int, y: int) -> int:
    r = (_MIX_L * x - _MIX_R * y) & _M32
    return r ^ (r >> 16)


def spawned_states(seed: int, keys: np.ndarray) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=(k,)).generate_state(4, uint64)`` for every ``k`` in ``keys``.

    numpy's algorithm (O'Neill's seed_seq: a pool of 4 words mixed with the entropy words,
    then hashed out). The seed's words are mixed as Python ints; the spawn key, the last
    word, is mixed into the 4 pool words and hashed out as ``[words, keys]`` uint32 arrays,
    a few numpy operations for all keys. ``keys`` below 2**32.
    """
    words: list[int] = []
    n = int(seed)
    while True:
        words.append(n & _M32)
        n >>= 32
        if not n:
            break
    words += [0] * (_POOL - len(words))  # numpy pads the seed to the pool when a key follows
    pool: list[int] = []
    const = _INIT_A
    for w in words[:_POOL]:
        value, const = _hashmix(w, const)
        pool.append(value)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                value, const = _hashmix(pool[src], const)
                pool[dst] = _mix(pool[dst], value)
    for w in words[_POOL:]:
        for dst in range(_POOL):
            value, const = _hashmix(w, const)
            pool[dst] = _mix(pool[dst], value)
    consts: list[tuple[int, int]] = []  # the key's hashmix into each pool word: (xor, multiplier)
    for _ in range(_POOL):
        following = (const * _MULT_A) & _M32
        consts.append((const, following))
        const = following

    def column(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.uint32)[:, None]

    key = np.asarray(keys, dtype=np.uint32)[None, :]
    h = (key ^ column([c for c, _ in consts])) * column([m for _, m in consts])
    h ^= h >> 16
    mixed = column([(_MIX_L * p) & _M32 for p in pool]) - h * np.uint32(_MIX_R)
    mixed ^= mixed >> 16
    hashes = [_INIT_B]
    for _ in range(7):
        hashes.append((hashes[-1] * _MULT_B) & _M32)
    out = (mixed[[0, 1, 2, 3, 0, 1, 2, 3]] ^ column(hashes)) * column([(c * _MULT_B) & _M32 for c in hashes])
    out ^= out >> 16
    return np.ascontiguousarray(out.T).astype("<u4").view("<u8").astype(np.uint64)


class _State(np.random.bit_generator.ISeedSequence):
    """A seed sequence that hands ``PCG64`` state words computed beforehand."""

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        """The words (``PCG64`` asks for 4 uint64; numpy's bit generators take any ``ISeedSequence``)."""
        return self.words


def _from_state(states: np.ndarray, row: int) -> np.random.Generator:
    """The generator ``stream`` makes, from its row of ``spawned_states``."""
    return np.random.Generator(np.random.PCG64(_State(states[row])))  # type: ignore[arg-type]  # any ISeedSequence


class NoiseStreams:
    """The random draws of one sampling request; ``seed=None`` takes fresh entropy from the OS."""

    def __init__(self, seed: int | None = None, block: int = 0) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed: expected a non-negative integer or None, got {seed!r}")
        self._block = int(block)
        self._fresh = seed is None and self._block > 0  # unseeded blocks: the next drawn in the background
        self._start(seed)
        if seed is None:
            _unseeded.add(self)

    def _start(self, seed: int | None) -> None:
        """Streams of ``seed`` (fresh entropy if None), none created yet."""
        self.seed = int(np.random.SeedSequence().entropy if seed is None else seed)  # type: ignore[arg-type]
        self._streams: dict[int, np.random.Generator] = {}
        self._words: dict[int, tuple[np.ndarray, int]] = {}  # prepared, not yet created: (states, row)
        self._ahead: dict[int, list[Any]] = {}  # stream: [rows drawn ahead, next row, width]
        # stream: (width, [block], finished) of the next block, drawn by a worker
        self._pending: dict[int, tuple[int, list[np.ndarray], threading.Event]] = {}
        self._lock = threading.RLock()  # threads of an app may share one sampler

    def generator(self, k: int) -> np.random.Generator:
        """Stream ``k``, created on first use and continued afterwards."""
        g = self._streams.get(k)
        if g is None:
            with self._lock:  # two threads must not each start a copy of one stream
                g = self._streams.get(k)
                if g is None:
                    prepared = self._words.pop(k, None)
                    g = stream(self.seed, k) if prepared is None else _from_state(*prepared)
                    self._streams[k] = g
        return g

    def prepare_steps(self, js: list[int]) -> None:
        """Hash the seed words of the noise streams of steps ``js`` at once (then 2 us a stream)."""
        ks = [FIRST_STEP_STREAM + j for j in js]
        with self._lock:
            new = np.array([k for k in ks if k not in self._streams and k not in self._words and k <= _M32],
                           dtype=np.int64)
            if len(new):
                states = spawned_states(self.seed, new)
                self._words.update((k, (states, i)) for i, k in enumerate(new.tolist()))

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
        """A new block of stream ``k``: the rows left of the same width, the block a worker drew
        meanwhile (unseeded streams start one each time), then fresh rows if still short."""
        parts = [ahead[0][ahead[1]:]] if ahead is not None and ahead[2] == width else []
        g = self.generator(k)
        pending = self._pending.pop(k, None)
        if pending is not None:
            drawn_width, drawn, finished = pending
            finished.wait()
            if drawn_width == width and drawn:  # rows of another width are dropped, like the rest
                parts.append(drawn[0])
        have = sum(len(p) for p in parts)
        if have < n:
            parts.append(_draw(g, k, width, max(self._block, n - have)))
        if self._fresh:
            box: list[np.ndarray] = []
            self._pending[k] = (width, box, background(lambda: box.append(_draw(g, k, width, self._block))))
        return [np.concatenate(parts) if len(parts) > 1 else parts[0], 0, width]

    def step(self, j: int, shape: tuple[int, ...]) -> np.ndarray:
        """The next rows of step ``j``'s noise, float32 of ``shape`` (rows first)."""
        return self.generator(FIRST_STEP_STREAM + j).standard_normal(shape, dtype=np.float32)

    def step_into(self, j: int, out: np.ndarray) -> None:
        """Fill ``out`` (float32, rows first) with the next rows of step ``j``'s noise."""
        self.generator(FIRST_STEP_STREAM + j).standard_normal(dtype=np.float32, out=out)


#: unseeded streams, which a forked child reseeds: else every worker process an app forks
#: from one loaded sampler would draw the same "random" samples as its parent
_unseeded: weakref.WeakSet[NoiseStreams] = weakref.WeakSet()


def _reseed_unseeded() -> None:
    for streams in list(_unseeded):
        streams._start(None)


os.register_at_fork(after_in_child=_reseed_unseeded)


def _draw(g: np.random.Generator, k: int, width: int, count: int) -> np.ndarray:
    """The next ``count`` rows of stream ``k`` from its generator ``g``: labels of ``width``
    classes (stream 0) or latents of ``width`` values."""
    if k == LABELS_STREAM:
        return _to_labels(g.random(count), width)
    return g.standard_normal((count, width), dtype=np.float32)


def _to_labels(u: np.ndarray, num_classes: int) -> np.ndarray:
    """Uniform draws in [0, 1) to labels: ``floor(u * num_classes)`` (int64)."""
    return np.minimum((u * num_classes).astype(np.int64), num_classes - 1)
