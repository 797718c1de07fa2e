"""Invertible layers: a per-dimension affine map and the RealNVP affine coupling."""

from __future__ import annotations

import math

import torch
from torch import nn


def alternating_masks(shape: tuple[int, ...], count: int) -> torch.Tensor:
    """``[count, D]`` binary masks: a checkerboard (images) or even/odd split (vectors), alternating.

    A 1 marks a dimension the coupling passes through unchanged (and conditions on).
    """
    if len(shape) == 3:
        c, h, w = (torch.arange(n) for n in shape)
        base = ((c[:, None, None] + h[None, :, None] + w[None, None, :]) % 2).flatten()
    else:
        base = torch.arange(math.prod(shape)) % 2
    return torch.stack([base if i % 2 == 0 else 1 - base for i in range(count)]).float()


class Affine(nn.Module):
    """``y = (x + loc) * exp(log_scale)`` per dimension; starts as the identity."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``y`` and the per-example log|det dy/dx|."""
        return (x + self.loc) * torch.exp(self.log_scale), self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Invert ``forward``."""
        return y * torch.exp(-self.log_scale) - self.loc


class AffineCoupling(nn.Module):
    """RealNVP coupling: masked dimensions pass through and set the scale and shift of the rest.

    ``y = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x))``; the log-scale ``s`` is
    soft-clamped to ``(-bound, bound)``. The last layer starts at zero (the identity map).
    """

    mask: torch.Tensor  # a registered buffer: 1 on the dimensions that pass through

    def __init__(self, mask: torch.Tensor, hidden: int, depth: int, bound: float,
                 dropout: float = 0.0) -> None:
        super().__init__()
        dim = mask.numel()
        self.register_buffer("mask", mask.clone())
        layers: list[nn.Module] = []
        width = dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = hidden
        last = nn.Linear(width, 2 * dim)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)
        self.bound = bound

    def scale_shift(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-scale and shift for the free dimensions (zero on the masked ones)."""
        s, t = self.net(x * self.mask).chunk(2, dim=1)
        free = 1.0 - self.mask
        return self.bound * torch.tanh(s / self.bound) * free, t * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``y`` and the per-example log|det dy/dx| (the sum of the log-scales)."""
        s, t = self.scale_shift(x)
        return x * torch.exp(s) + t, s.sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Invert ``forward`` exactly (the masked dimensions are unchanged, so s and t are too)."""
        s, t = self.scale_shift(y)
        return (y - t) * torch.exp(-s)
