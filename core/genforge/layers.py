"""Network pieces that model families share: the label embedding of conditional models."""

from __future__ import annotations

import torch
from torch import nn


class LabelMap(nn.Module):
    """Embeds labels and joins them to an input, as extra features or channels."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, dim)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Concatenate the label embedding to ``x`` along dim 1 (broadcast over H, W, or L)."""
        e = self.embed(labels)
        if x.dim() > 2:
            e = e[(slice(None), slice(None)) + (None,) * (x.dim() - 2)].expand(-1, -1, *x.shape[2:])
        return torch.cat([x, e], dim=1)
