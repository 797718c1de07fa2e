"""Residual networks for square images (SNGAN: Miyato et al., 2018; BigGAN: Brock et al., 2019).

The generator maps ``z`` through a linear layer to a small square, then residual up-blocks
(BatchNorm, ReLU, nearest 2x upsampling, two 3x3 convs, a 1x1-conv shortcut) double the
side to the image's; with labels, each BatchNorm takes a per-class gain and bias
(conditional BatchNorm). The discriminator's residual down-blocks halve the side back
to that square (average pooling), a last block keeps it, and ReLU and a sum over space
give the features a linear layer scores (and a projection discriminator dots with the
label's embedding). Sides are those of the DCGAN (``conv_layout``): 8, 16, 28, 32, ...
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge_gan.nets import conv_layout


def resnet_init(module: nn.Module) -> None:
    """Xavier-uniform conv and linear weights, zero biases (the SNGAN initialisation)."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias are looked up per class (or learnt once, without classes)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=num_classes == 0)
        self.gain = nn.Embedding(num_classes, channels) if num_classes else None
        self.bias = nn.Embedding(num_classes, channels) if num_classes else None
        if self.gain is not None and self.bias is not None:  # near the unconditional BatchNorm
            nn.init.normal_(self.gain.weight, 1.0, 0.02)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Normalise ``x``; scale and shift it by the labels' gains and biases when conditional."""
        h = self.norm(x)
        if self.gain is None or self.bias is None or labels is None:
            return h
        return h * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


class UpBlock(nn.Module):
    """A residual block doubling the side: (CBN, ReLU, upsample, conv3x3, CBN, ReLU, conv3x3) + shortcut."""

    def __init__(self, c_in: int, c_out: int, num_classes: int) -> None:
        super().__init__()
        self.norm1 = ConditionalBatchNorm2d(c_in, num_classes)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.norm2 = ConditionalBatchNorm2d(c_out, num_classes)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Twice the side of ``x``, ``c_out`` channels."""
        h = F.interpolate(F.relu(self.norm1(x, labels)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ResNetGenerator(nn.Module):
    """``z`` (+ labels, through conditional BatchNorm) -> ``[N, channels, size, size]`` in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, size: int, ngf: int, num_classes: int = 0) -> None:
        super().__init__()
        self.start, depth = conv_layout(size, "resnet")
        outs = [ngf * 2 ** (depth - 1 - i) for i in range(depth)]  # each block's: ..., 2 ngf, ngf
        widths = [outs[0], *outs]
        self.latent_dim = latent_dim
        self.linear = nn.Linear(latent_dim, widths[0] * self.start**2)
        pairs = zip(widths, widths[1:], strict=False)
        self.blocks = nn.ModuleList(UpBlock(a, b, num_classes) for a, b in pairs)
        self.norm = nn.BatchNorm2d(widths[-1])
        self.out = nn.Conv2d(widths[-1], channels, 3, 1, 1)
        self.apply(resnet_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Map noise (and labels) to images."""
        h = self.linear(z).reshape(z.shape[0], -1, self.start, self.start)
        for block in self.blocks:
            h = block(h, labels)
        return torch.tanh(self.out(F.relu(self.norm(h))))


class DownBlock(nn.Module):
    """A residual block, halving the side when ``down``: (ReLU, conv3x3, ReLU, conv3x3, pool) + shortcut.

    The first block (``first``) has no leading ReLU, its input being the image.
    """

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if down or c_in != c_out else None
        self.down, self.first = down, first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``c_out`` channels, at half the side of ``x`` when ``down``."""
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        skip = x
        if self.first and self.down:  # pool before the 1x1 conv: the same map at a quarter of the cost
            skip = F.avg_pool2d(skip, 2)
        if self.shortcut is not None:
            skip = self.shortcut(skip)
        if self.down:
            h = F.avg_pool2d(h, 2)
            if not self.first:
                skip = F.avg_pool2d(skip, 2)
        return h + skip


class SumPool(nn.Module):
    """ReLU, then the sum over space: ``[N, C, H, W]`` -> ``[N, C]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features."""
        return F.relu(x).sum(dim=(2, 3))


def resnet_discriminator_body(channels: int, size: int, ndf: int) -> nn.Sequential:
    """Residual down-blocks from ``[N, channels, size, size]`` to ``[N, 1]`` scores (a linear layer last)."""
    _, depth = conv_layout(size, "resnet")
    widths = [ndf * 2**i for i in range(depth)]
    blocks: list[nn.Module] = [DownBlock(channels, widths[0], down=True, first=True)]
    blocks += [DownBlock(a, b, down=True) for a, b in zip(widths, widths[1:], strict=False)]
    body = nn.Sequential(*blocks, DownBlock(widths[-1], widths[-1], down=False), SumPool(),
                         nn.Linear(widths[-1], 1))
    body.apply(resnet_init)
    return body
