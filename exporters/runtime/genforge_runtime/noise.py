"""The noise contract (version 2): every random number of a sampling request, defined once (numpy only).

The specification, with reference pseudocode and test vectors, is docs/noise.md. In short:
value ``i`` of stream ``s`` of a request with seed ``seed`` is read from the Philox4x32-10
block with key ``(seed mod 2**32, seed >> 32)`` and counter ``(b mod 2**32, b >> 32, s, 0)``,
``b = i // 4``, lane ``i % 4`` of it. Streams: 0 random class labels, 1 the latents ``z``,
``2 + j`` the noise of step ``j`` of an iterative sampler. A draw of ``n`` rows of shape
``shape`` takes the next ``n * prod(shape)`` values of its stream in sample order, so drawing
batch after batch gives exactly the rows of one draw: the samples of a seed depend on neither
the batch size nor the device. ``genforge.noise`` computes the same values with torch on the
model's device, ``noise.mjs`` beside this module in JavaScript.
"""

from __future__ import annotations

import math
import secrets
import sys

import numpy as np

#: The version of this contract, recorded in every exported file's manifest as ``genforge.noise``.
VERSION = 2
#: Manifest versions this runtime samples (1: written before the field existed, sampled with 2).
VERSIONS = (1, 2)
LABELS_STREAM = 0
LATENT_STREAM = 1
FIRST_STEP_STREAM = 2
#: Seeds are 64-bit: the two key words of Philox4x32.
MAX_SEED = 2**64 - 1

MASK = 0xFFFFFFFF
MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
WEYL = (0x9E3779B9, 0xBB67AE85)
ROUNDS = 10
TWO_PI = 2.0 * math.pi

_M = np.array(MULTIPLIERS, dtype=np.uint64)[:, None]
#: up to this many blocks, Python integers compute Philox faster than numpy's per-call cost allows
FEW_BLOCKS = 64
#: where a uint64's low and high words lie in its two uint32 halves
_LOW, _HIGH = (0, 1) if sys.byteorder == "little" else (1, 0)


def round_keys(seed: int) -> list[tuple[int, int]]:
    """The key of each of the 10 rounds: ``(seed mod 2**32, seed >> 32)`` plus ``r`` times the Weyl pair."""
    k0, k1 = seed & MASK, seed >> 32
    return [((k0 + r * WEYL[0]) & MASK, (k1 + r * WEYL[1]) & MASK) for r in range(ROUNDS)]


def philox(counters: np.ndarray, seed: int) -> np.ndarray:
    """Philox4x32-10 of ``counters`` (``[4, m]``, words below 2**32) under the key of ``seed`` (uint32)."""
    c = np.asarray(counters, dtype=np.uint32)
    return _philox_lanes(c, seed) if c.shape[1] <= FEW_BLOCKS else _philox_arrays(c, seed)


def _philox_lanes(c: np.ndarray, seed: int) -> np.ndarray:
    """``philox`` for a few blocks: each word of every block in a 64-bit lane of one Python integer, so
    one integer operation serves all blocks (a product of two words stays inside its lane)."""
    m = c.shape[1]
    c0, c1, c2, c3 = (int.from_bytes(row.tobytes(), "little") for row in c.astype("<u8"))
    ones = ((1 << 64 * m) - 1) // ((1 << 64) - 1)  # 1 in every lane
    low = MASK * ones
    for k0, k1 in round_keys(seed):
        p0, p1 = c0 * MULTIPLIERS[0], c2 * MULTIPLIERS[1]
        c0, c1, c2, c3 = (((p1 >> 32) & low) ^ c1 ^ k0 * ones, p1 & low,
                          ((p0 >> 32) & low) ^ c3 ^ k1 * ones, p0 & low)
    words = b"".join(w.to_bytes(8 * m, "little") for w in (c0, c1, c2, c3))
    return np.frombuffer(words, dtype="<u8").reshape(4, m).astype(np.uint32)


def _philox_arrays(c: np.ndarray, seed: int) -> np.ndarray:
    """``philox`` vectorised over many blocks, three numpy operations a round: the multiplied words
    ``(c0, c2)`` are the low halves of a uint64 ``[2, m]`` array, multiplied in place of the two
    32x32-bit products; their high and low words are read through uint32 views of the product."""
    m = c.shape[1]
    # constants as whole [2, m] arrays: a ufunc broadcasting a column costs more than the copy
    keys = np.zeros((ROUNDS + 1, 2, m), dtype=np.uint32)  # after the last round, no key
    keys[:ROUNDS] = np.array(round_keys(seed), dtype=np.uint32)[:, :, None]
    multipliers = np.repeat(_M, m, axis=1)
    a = np.zeros((2, m), dtype=np.uint64)
    a_words = a.view(np.uint32)[:, _LOW::2]  # (c0, c2): the high halves stay 0
    a_words[...] = c[0::2]
    b = c[1::2] ^ keys[0]  # (c1, c3), xor-ed with the round's key
    product = np.empty((2, m), dtype=np.uint64)
    halves = product.view(np.uint32)[::-1]  # rows (M1 c2, M0 c0)
    low, high = halves[:, _LOW::2], halves[:, _HIGH::2]
    for r in range(ROUNDS):
        np.multiply(a, multipliers, out=product)  # (M0 c0, M1 c2), below 2**64
        np.bitwise_xor(high, b, out=a_words)  # (hi(M1 c2) ^ c1 ^ k0, hi(M0 c0) ^ c3 ^ k1)
        np.bitwise_xor(low, keys[r + 1], out=b)  # (lo(M1 c2), lo(M0 c0)) ^ the next round's key
    out = np.empty((4, m), dtype=np.uint32)
    out[0::2], out[1::2] = a_words, b
    return out


def blocks(seed: int, stream: int, first: int, count: int) -> np.ndarray:
    """The words of blocks ``first .. first + count - 1`` of ``stream``: ``[4, count]`` uint32."""
    counters = np.zeros((4, count), dtype=np.uint32)
    if first + count <= MASK + 1:
        counters[0] = np.arange(first, first + count, dtype=np.uint32)
    else:
        index = np.arange(first, first + count, dtype=np.uint64)
        counters[0], counters[1] = index & np.uint64(MASK), index >> np.uint64(32)
    counters[2] = stream
    return philox(counters, seed)


def _blocks_of(seed: int, stream: int, start: int, count: int) -> tuple[np.ndarray, int]:
    """The blocks holding values ``start .. start + count - 1``, and the lane of value ``start``."""
    check_range(seed, stream, start, count)
    first = start // 4
    return blocks(seed, stream, first, (start + count + 3) // 4 - first), start - 4 * first


def _lanes(per_block: np.ndarray, at: int, count: int) -> np.ndarray:
    """Values of ``[4, m]`` lanes in index order (block by block), from lane ``at``, ``count`` of them."""
    return np.ascontiguousarray(per_block.T).reshape(-1)[at : at + count]


def words(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """Values ``start .. start + count - 1`` of ``stream`` as raw 32-bit words (uint32)."""
    w, at = _blocks_of(seed, stream, start, count)
    return _lanes(w, at, count)


def unit(w: np.ndarray) -> np.ndarray:
    """``(w + 0.5) * 2**-32``: float64 in (0, 1), exact (the uniform the other draws start from)."""
    return np.multiply(w, 2.0**-32, dtype=np.float64) + 2.0**-33


def unit32(w: np.ndarray) -> np.ndarray:
    """``((w >> 9) + 0.5) * 2**-23``: float32 in (0, 1), exact (``w >> 8`` would need 25 bits)."""
    return ((w >> np.uint32(9)).astype(np.float64) * 2.0**-23 + 2.0**-24).astype(np.float32)


def uniforms(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """Float32 uniforms in (0, 1): ``unit32`` of each value's word."""
    return unit32(words(seed, stream, start, count))


def normals(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """Float32 standard normals by Box-Muller in float64: lanes ``(0, 1)`` and ``(2, 3)`` of a block are
    ``r cos(t), r sin(t)`` with ``r = sqrt(-2 log(unit(w_even)))``, ``t = 2 pi unit(w_odd)``."""
    w, at = _blocks_of(seed, stream, start, count)
    u = unit(w)
    r = np.sqrt(np.log(u[0::2]) * -2.0)  # words 0 and 2
    t = u[1::2] * TWO_PI  # words 1 and 3
    pairs = np.empty((w.shape[1], 2, 2), dtype=np.float32)  # [block, pair, (cos, sin)]
    pairs[:, :, 0] = (r * np.cos(t)).T
    pairs[:, :, 1] = (r * np.sin(t)).T
    return pairs.reshape(-1)[at : at + count].copy()


def labels(seed: int, stream: int, start: int, count: int, num_classes: int) -> np.ndarray:
    """Int64 labels in ``[0, num_classes)``: ``min(floor(unit(w) * num_classes), num_classes - 1)``."""
    u = unit(words(seed, stream, start, count))
    return np.minimum(np.floor(u * num_classes).astype(np.int64), num_classes - 1)


def gumbel(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """Float32 standard Gumbel noise ``-log(-log(unit(w)))`` (float64, then rounded): ``argmax(logits + g)``
    draws a category with probabilities ``softmax(logits)``."""
    u = unit(words(seed, stream, start, count))
    return (-np.log(-np.log(u))).astype(np.float32)


def check_range(seed: int, stream: int, start: int, count: int) -> None:
    """Refuse a seed, stream or range of values outside the contract (``ValueError`` naming it)."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed: expected an integer from 0 to 2**64-1, got {seed!r}")
    if not 0 <= stream <= MASK:
        raise ValueError(f"stream: expected an integer from 0 to 2**32-1, got {stream!r}")
    if start < 0 or count < 0 or start + count > 2**66:
        raise ValueError(f"values {start} to {start + count}: a stream holds 2**66 values")


def check_seed(seed: object) -> int:
    """``seed`` as an int, or ``ValueError`` naming it: an integer from 0 to 2**64-1."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed: expected an integer from 0 to 2**64-1 or None, got {seed!r}")
    return int(seed)


def fresh_seed() -> int:
    """A seed from the OS's entropy (64 bits), for a request without one."""
    return secrets.randbits(64)


class NoiseStreams:
    """The draws of one sampling request: its seed and how far each stream has been read.

    ``seed=None`` takes a fresh seed from the OS. An object serves one request: threads and
    processes (forked or not) that sample at once each make their own, so nothing is shared.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = fresh_seed() if seed is None else check_seed(seed)
        self._read: dict[int, int] = {}

    def take(self, stream: int, count: int) -> int:
        """Where the next ``count`` values of ``stream`` start; they count as read."""
        start = self._read.get(stream, 0)
        self._read[stream] = start + count
        return start

    def labels(self, n: int, num_classes: int) -> np.ndarray:
        """The next ``n`` random labels in ``[0, num_classes)`` (int64)."""
        return labels(self.seed, LABELS_STREAM, self.take(LABELS_STREAM, n), n, num_classes)

    def latents(self, n: int, latent_dim: int) -> np.ndarray:
        """The next ``n`` latent rows, float32 ``[n, latent_dim]``."""
        count = n * latent_dim
        start = self.take(LATENT_STREAM, count)
        return normals(self.seed, LATENT_STREAM, start, count).reshape(n, latent_dim)

    def step(self, j: int, shape: tuple[int, ...]) -> np.ndarray:
        """The next rows of step ``j``'s noise, float32 of ``shape`` (rows first)."""
        count, k = math.prod(shape), FIRST_STEP_STREAM + j
        return normals(self.seed, k, self.take(k, count), count).reshape(shape)
