"""Images: uniform dequantization of pixel levels and the logit transform, with their log-dets."""

from __future__ import annotations

import math

import torch


class LogitDequantizer:
    """Maps pixel values to unbounded flow inputs and back.

    A pixel ``x`` in ``[lo, hi]`` lies on one of ``levels`` levels ``b``; with ``u ~ U[0, 1)``
    the dequantized value is ``y = (b + u) / levels`` in ``[0, 1)``, squeezed to
    ``p = alpha + (1 - 2 alpha) y`` and mapped to ``v = logit(p)``. The log-probability of
    the discrete pixels is bounded below by ``log p(y) - D log(levels)`` (uniform
    dequantization), and that is the figure this family reports.
    """

    def __init__(self, levels: int, alpha: float, value_range: tuple[float, float]) -> None:
        self.levels = levels
        self.alpha = alpha
        self.lo, self.hi = value_range

    def bins(self, x: torch.Tensor) -> torch.Tensor:
        """The level index (as float) of each pixel."""
        scaled = (x - self.lo) / (self.hi - self.lo) * (self.levels - 1)
        return scaled.round().clamp(0, self.levels - 1)

    def to_logits(self, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``v`` and the per-example log|det dv/dy| for pixels ``x`` and noise ``u`` (both ``[N, D]``)."""
        y = (self.bins(x) + u) / self.levels
        p = self.alpha + (1.0 - 2.0 * self.alpha) * y
        v = torch.log(p) - torch.log1p(-p)
        logdet = (math.log(1.0 - 2.0 * self.alpha) - torch.log(p) - torch.log1p(-p)).sum(1)
        return v, logdet

    def discrete_offset(self, dim: int) -> float:
        """``D log(levels)``: from a density on ``[0, 1)^D`` to the probability of a pixel cell."""
        return dim * math.log(self.levels)

    def to_pixels(self, v: torch.Tensor) -> torch.Tensor:
        """Flow output to pixel values in ``[lo, hi]``: each level's cell centre lands on the level."""
        y = (torch.sigmoid(v) - self.alpha) / (1.0 - 2.0 * self.alpha)
        level = ((y * self.levels - 0.5) / (self.levels - 1)).clamp(0.0, 1.0)
        return self.lo + (self.hi - self.lo) * level
