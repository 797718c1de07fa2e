"""Step networks ``(x_t, t[, labels]) -> prediction``: a small U-Net for images (2-D) and
signals (1-D), an MLP for vectors.

Both embed the time (a float in ``[0, 1]`` after ``time_scale``) with sinusoids and an
MLP, and, for conditional models, add an embedding of the label; the extra last row of
the label table is the null label that classifier-free guidance feeds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: U-Nets take square images from this many pixels ...
MIN_SIZE = 8
#: ... up to this many.
MAX_SIZE = 64
#: Most positions the self-attention attends over (the lowest level of a 64x64 U-Net with two levels).
MAX_ATTENTION = 1024
#: The convolution of each number of spatial dimensions: 1 for ``[C, L]`` signals, 2 for images.
CONV: dict[int, type[nn.Conv1d] | type[nn.Conv2d]] = {1: nn.Conv1d, 2: nn.Conv2d}


def broadcast(e: torch.Tensor, dims: int) -> torch.Tensor:
    """``[N, C]`` as ``[N, C, 1, ...]`` with ``dims`` trailing axes, to add to a feature map."""
    return e[(slice(None), slice(None)) + (None,) * dims]


class Embedding(nn.Module):
    """Time (and label) embedding: sinusoids of ``t * time_scale`` through a two-layer MLP."""

    freqs: torch.Tensor

    def __init__(self, dim: int, time_scale: float, num_labels: int = 0) -> None:
        super().__init__()
        self.dim = dim
        self.time_scale = time_scale
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs * 1000.0, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * half, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.labels = nn.Embedding(num_labels, dim) if num_labels else None

    def forward(self, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, dim]`` from times ``t`` ``[N]`` (float) and labels ``[N]`` (int64, or None)."""
        phase = (t.float() * self.time_scale)[:, None] * self.freqs
        e = self.mlp(torch.cat([phase.sin(), phase.cos()], 1))
        if self.labels is not None:
            if labels is None:
                raise ValueError("a conditional step network needs labels")
            e = e + self.labels(labels)
        return e


class ResBlock(nn.Module):
    """Group norm, SiLU, 3x3 (or 3) conv twice, the embedding added in between; a residual connection."""

    def __init__(self, c_in: int, c_out: int, emb: int, groups: int, dims: int = 2) -> None:
        super().__init__()
        conv = CONV[dims]
        self.dims = dims
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = conv(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = conv(c_out, c_out, 3, padding=1)
        self.skip = conv(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N, c_in, H, W]`` (or ``[N, c_in, L]``) and embedding ``e`` ``[N, emb]`` -> ``c_out``."""
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + broadcast(self.emb(F.silu(e)), self.dims)
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over the positions of a feature map, with a residual connection."""

    def __init__(self, channels: int, heads: int, groups: int, dims: int = 2) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"model.heads = {heads}: must divide the attention width {channels}")
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = CONV[dims](channels, 3 * channels, 1)
        self.out = CONV[dims](channels, channels, 1)
        for p in self.out.parameters():  # the block starts as the identity
            nn.init.zeros_(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N, C, H, W]`` (or ``[N, C, L]``) -> same shape."""
        n, c = x.shape[:2]
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3 * self.heads, c // self.heads, -1).chunk(3, 1)
        weights = torch.softmax(q.transpose(2, 3) @ k * (c // self.heads) ** -0.5, dim=-1)
        out = (v @ weights.transpose(2, 3)).reshape(x.shape)
        return x + self.out(out)


def check_shape(shape: tuple[int, ...], levels: int, attention: bool) -> None:
    """Refuse, naming the option, a shape the U-Net cannot take (it takes ``[C, S, S]`` and ``[C, L]``)."""
    sides = shape[1:]
    if len(sides) == 2 and (sides[0] != sides[1] or not MIN_SIZE <= sides[0] <= MAX_SIZE):
        raise ValueError(f"model.arch = 'unet': needs square images of {MIN_SIZE} to {MAX_SIZE} "
                         f"pixels, got {sides[0]}x{sides[1]}")
    if len(sides) not in (1, 2):
        raise ValueError(f"model.arch = 'unet': needs [C, H, W] images or [C, L] signals, got shape "
                         f"{list(shape)}; use 'mlp' for vectors")
    side, unit = sides[0], "px" if len(sides) == 2 else "samples"
    if side % 2 ** (levels - 1) or side // 2 ** (levels - 1) < 2:
        hint = "use fewer levels" if len(sides) == 2 else \
            f"use fewer levels or a length that is a multiple of {2 ** (levels - 1)} (data.length)"
        raise ValueError(f"model.widths: {levels} levels halve {side} {unit} {levels - 1} times; {hint}")
    positions = (side // 2 ** (levels - 1)) ** len(sides)
    if attention and positions > MAX_ATTENTION:
        raise ValueError(f"model.attention: self-attention over the {positions} positions of the lowest "
                         f"level is more than {MAX_ATTENTION}; add levels to model.widths (each halves "
                         "the length) or set model.attention = false")


class UNet(nn.Module):
    """A small U-Net for ``[C, S, S]`` images (``S`` from 8 to 64) or ``[C, L]`` signals.

    ``widths[i]`` channels at level ``i`` (side or length ``S / 2**i``), ``blocks`` residual
    blocks per level on the way down and ``blocks + 1`` on the way up (each taking a skip),
    and a middle of two residual blocks around an optional self-attention at the lowest
    level. Going up, a 3x3 convolution maps to the next level's width before nearest-neighbour
    doubling (a quarter of the work of convolving after it). Signals get the same network
    with 1-D convolutions (kernel 3).
    """

    def __init__(self, shape: tuple[int, ...], widths: list[int], blocks: int, attention: bool,
                 heads: int, groups: int, emb: int, time_scale: float, num_labels: int = 0) -> None:
        super().__init__()
        levels = len(widths)
        check_shape(shape, levels, attention)
        bad = [x for x in widths if x % groups]
        if bad:
            raise ValueError(f"model.groups = {groups}: must divide every width, not {bad[0]}")
        c, dims = shape[0], len(shape) - 1
        conv = CONV[dims]
        self.embedding = Embedding(emb, time_scale, num_labels)
        self.conv_in = conv(c, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips, ch = [widths[0]], widths[0]
        for i, width in enumerate(widths):
            for _ in range(blocks):
                self.down.append(ResBlock(ch, width, emb, groups, dims))
                ch = width
                skips.append(ch)
            if i < levels - 1:
                self.downsample.append(conv(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
        self.mid1 = ResBlock(ch, ch, emb, groups, dims)
        self.attn = Attention(ch, heads, groups, dims) if attention else None
        self.mid2 = ResBlock(ch, ch, emb, groups, dims)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(levels)):
            for _ in range(blocks + 1):
                self.up.append(ResBlock(ch + skips.pop(), widths[i], emb, groups, dims))
                ch = widths[i]
            if i > 0:  # to the next level's width at the low resolution, then doubled
                self.upsample.append(conv(ch, widths[i - 1], 3, padding=1))
                ch = widths[i - 1]
        self.norm_out = nn.GroupNorm(groups, ch)
        self.conv_out = conv(ch, c, 3, padding=1)
        self.blocks, self.levels = blocks, levels

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The prediction for ``x_t`` ``[N, C, S, S]`` or ``[N, C, L]`` at times ``t`` ``[N]``."""
        e = self.embedding(t, labels)
        h = self.conv_in(x)
        hs = [h]
        blocks = iter(self.down)
        for i in range(self.levels):
            for _ in range(self.blocks):
                h = next(blocks)(h, e)
                hs.append(h)
            if i < self.levels - 1:
                h = self.downsample[i](h)
                hs.append(h)
        h = self.mid1(h, e)
        if self.attn is not None:
            h = self.attn(h)
        h = self.mid2(h, e)
        blocks = iter(self.up)
        for i in range(self.levels):
            for _ in range(self.blocks + 1):
                h = next(blocks)(torch.cat([h, hs.pop()], 1), e)
            if i < self.levels - 1:
                h = F.interpolate(self.upsample[i](h), scale_factor=2.0, mode="nearest")
        return self.conv_out(F.silu(self.norm_out(h)))


class MLP(nn.Module):
    """Residual MLP for vectors: ``layers`` blocks of (LayerNorm, SiLU, Linear) with the embedding added."""

    def __init__(self, dim: int, hidden: int, layers: int, emb: int, time_scale: float,
                 num_labels: int = 0) -> None:
        super().__init__()
        self.embedding = Embedding(emb, time_scale, num_labels)
        self.inp = nn.Linear(dim, hidden)
        self.emb = nn.ModuleList(nn.Linear(emb, hidden) for _ in range(layers))
        self.body = nn.ModuleList(nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, hidden))
                                  for _ in range(layers))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The prediction for ``x_t`` ``[N, *shape]`` at times ``t`` ``[N]``, shaped like ``x``."""
        e = F.silu(self.embedding(t, labels))
        h = self.inp(x.flatten(1))
        for body, proj in zip(self.body, self.emb, strict=True):
            h = h + body(h + proj(e))
        return self.out(h).reshape(x.shape)
