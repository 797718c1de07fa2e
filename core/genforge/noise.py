"""The noise contract in torch: ``genforge_runtime.noise``'s numbers computed where the tensors live.

docs/noise.md specifies the contract; ``genforge_runtime.noise`` is its numpy implementation and
owns the streams (a request's seed and how far each stream has been read). This module
computes the same words and draws with int64 and float64 tensor operations on any device, so
a sampler on a GPU gets its noise with no copy from the host: each 32x32-bit product of
Philox is taken in 16-bit halves, so no intermediate leaves int64's range. The results equal
numpy's bit for bit (``tests/test_noise_torch.py``).
"""

from __future__ import annotations

import functools
import math

import torch

from genforge_runtime import noise as spec
from genforge_runtime.noise import LABELS_STREAM, LATENT_STREAM, NoiseStreams

__all__ = ["DeviceStreams", "blocks", "gumbel", "labels", "normals", "philox", "uniforms"]

@functools.cache
def _halves(device: torch.device) -> torch.Tensor:
    """Each multiplier's (low, high) 16-bit halves, per multiplied word: int64 ``[2, 2, 1]`` on ``device``
    (copied there once per process)."""
    halves = [[[m & 0xFFFF], [m >> 16]] for m in spec.MULTIPLIERS]
    return torch.tensor(halves, dtype=torch.int64, device=device)


def _mulhilo(a: torch.Tensor, halves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The low and high words of ``(M0 a[0], M1 a[1])`` (``a`` int64 ``[2, m]``, words below 2**32)."""
    p = a.unsqueeze(1) * halves  # (a * M_low, a * M_high), each below 2**48
    low, high = p[:, 0], p[:, 1]
    s = low + ((high & 0xFFFF) << 16)  # below 2**49
    return s & spec.MASK, (high >> 16) + (s >> 32)


def round_keys(seed: int, device: torch.device) -> torch.Tensor:
    """``genforge_runtime.noise.round_keys`` and a last row of zeros (after the last round, no key):
    int64 ``[11, 2, 1]``, computed on ``device`` from Python numbers (no copy from the host)."""
    r = torch.arange(spec.ROUNDS + 1, dtype=torch.int64, device=device)
    k0 = (r * spec.WEYL[0] + (seed & spec.MASK)) & spec.MASK
    k1 = (r * spec.WEYL[1] + (seed >> 32)) & spec.MASK
    return (torch.stack([k0, k1], dim=1) * (r < spec.ROUNDS)[:, None]).unsqueeze(-1)


def philox(counters: torch.Tensor, seed: int) -> torch.Tensor:
    """Philox4x32-10 of ``counters`` (int64 ``[4, m]``, words below 2**32) under the key of ``seed``."""
    keys, halves = round_keys(seed, counters.device), _halves(counters.device)
    a, b = counters[0::2], counters[1::2] ^ keys[0]  # (c0, c2), (c1 ^ k0, c3 ^ k1)
    for r in range(spec.ROUNDS):
        lo, hi = _mulhilo(a, halves)
        a = hi.flip(0) ^ b  # (hi(M1 c2) ^ c1 ^ k0, hi(M0 c0) ^ c3 ^ k1)
        b = lo.flip(0) ^ keys[r + 1]  # (lo(M1 c2), lo(M0 c0)), xor-ed with the next key
    return torch.stack([a[0], b[0], a[1], b[1]])


def blocks(seed: int, stream: int, first: int, count: int, device: torch.device | str) -> torch.Tensor:
    """The words of blocks ``first .. first + count - 1`` of ``stream``: int64 ``[4, count]``."""
    index = torch.arange(count, dtype=torch.int64, device=device) + (first & spec.MASK)
    counters = torch.stack([index & spec.MASK, (index >> 32) + (first >> 32),
                            torch.full_like(index, stream), torch.zeros_like(index)])
    return philox(counters, seed)


def _words(seed: int, stream: int, start: int, count: int,
           device: torch.device | str) -> tuple[torch.Tensor, int]:
    """The blocks holding values ``start .. start + count - 1`` and the lane of value ``start``."""
    spec.check_range(seed, stream, start, count)
    first = start // 4
    return blocks(seed, stream, first, (start + count + 3) // 4 - first, device), start - 4 * first


def _lanes(per_block: torch.Tensor, at: int, count: int) -> torch.Tensor:
    """``[4, m]`` lanes in index order (block by block), from lane ``at``, ``count`` of them."""
    return per_block.t().reshape(-1)[at : at + count]


def _unit(w: torch.Tensor) -> torch.Tensor:
    """``(w + 0.5) * 2**-32`` in float64, as ``genforge_runtime.noise.unit``."""
    return w.to(torch.float64) * 2.0**-32 + 2.0**-33


def uniforms(seed: int, stream: int, start: int, count: int, device: torch.device | str) -> torch.Tensor:
    """Float32 uniforms in (0, 1): ``((w >> 9) + 0.5) * 2**-23``."""
    w, at = _words(seed, stream, start, count, device)
    return ((_lanes(w, at, count) >> 9).to(torch.float64) * 2.0**-23 + 2.0**-24).to(torch.float32)


def normals(seed: int, stream: int, start: int, count: int, device: torch.device | str) -> torch.Tensor:
    """Float32 standard normals by Box-Muller in float64 (``genforge_runtime.noise.normals``)."""
    w, at = _words(seed, stream, start, count, device)
    r = torch.sqrt(torch.log(_unit(w[0::2])) * -2.0)
    t = _unit(w[1::2]) * spec.TWO_PI
    pairs = torch.stack([r * torch.cos(t), r * torch.sin(t)], dim=-1)  # [pair, block, (cos, sin)]
    return pairs.permute(1, 0, 2).reshape(-1)[at : at + count].to(torch.float32)


def labels(seed: int, stream: int, start: int, count: int, num_classes: int,
           device: torch.device | str) -> torch.Tensor:
    """Int64 labels in ``[0, num_classes)``: ``min(floor(unit(w) * num_classes), num_classes - 1)``."""
    w, at = _words(seed, stream, start, count, device)
    u = _unit(_lanes(w, at, count))
    return torch.floor(u * num_classes).to(torch.int64).clamp_(max=num_classes - 1)


def gumbel(seed: int, stream: int, start: int, count: int, device: torch.device | str) -> torch.Tensor:
    """Float32 standard Gumbel noise ``-log(-log(unit(w)))``."""
    w, at = _words(seed, stream, start, count, device)
    return (-torch.log(-torch.log(_unit(_lanes(w, at, count))))).to(torch.float32)


class DeviceStreams:
    """A request's streams (``NoiseStreams``) drawn as tensors on ``device``.

    On a CPU the numpy implementation computes them (fewer operations to dispatch; the tensor
    shares its memory); on devices without float64 (Apple's MPS) it does too, and the result
    is copied; elsewhere (CUDA) the torch implementation computes them on the device.
    """

    def __init__(self, streams: NoiseStreams, device: torch.device) -> None:
        self.streams, self.device = streams, device
        self.on_device = device.type not in ("cpu", "mps")

    def _normals(self, stream: int, count: int) -> torch.Tensor:
        start, seed = self.streams.take(stream, count), self.streams.seed
        if self.on_device:
            return normals(seed, stream, start, count, self.device)
        return torch.from_numpy(spec.normals(seed, stream, start, count)).to(self.device)

    def labels(self, n: int, num_classes: int) -> torch.Tensor:
        """The next ``n`` random labels in ``[0, num_classes)`` (int64, on the device)."""
        if self.on_device:
            start = self.streams.take(LABELS_STREAM, n)
            return labels(self.streams.seed, LABELS_STREAM, start, n, num_classes, self.device)
        return torch.from_numpy(self.streams.labels(n, num_classes)).to(self.device)

    def latents(self, n: int, latent_dim: int) -> torch.Tensor:
        """The next ``n`` latent rows, float32 ``[n, latent_dim]``."""
        return self._normals(LATENT_STREAM, n * latent_dim).reshape(n, latent_dim)

    def step(self, j: int, shape: tuple[int, ...]) -> torch.Tensor:
        """The next rows of step ``j``'s noise, float32 of ``shape`` (rows first)."""
        return self._normals(spec.FIRST_STEP_STREAM + j, math.prod(shape)).reshape(shape)

