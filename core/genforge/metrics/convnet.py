"""The feature network: a small CNN classifier whose penultimate layer gives the features."""

from __future__ import annotations

import torch
from torch import nn

#: Width of the penultimate layer: the feature space of FD, KID and precision/recall.
FEATURES = 128


class ConvNet(nn.Module):
    """Three 3x3 convolutions, a 128-unit layer (the features) and a linear class head.

    Works for any square input of ``channels x size x size`` pixels (size >= 4): one
    2x2 max-pool, then an adaptive average pool to 4x4 before the dense layers.
    Inputs are in [0, 1].
    """

    def __init__(self, channels: int, size: int, num_outputs: int, width: int = 20) -> None:
        super().__init__()
        if size < 4:
            raise ValueError(f"feature network: images of at least 4x4 pixels, got {size}")
        self.channels, self.size, self.num_outputs, self.width = channels, size, num_outputs, width
        self.conv = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        )
        self.dense = nn.Sequential(nn.Linear(2 * width * 16, FEATURES), nn.ReLU())
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURES, num_outputs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 128-unit penultimate activations of ``[N, C, size, size]`` images in [0, 1]."""
        return self.dense(self.conv(x * 2.0 - 1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (dropout applies in training mode only)."""
        return self.head(self.dropout(self.features(x)))
