"""Encoder and decoder networks: strided convs for images, MLPs for vectors and small images."""

from __future__ import annotations

import math

import torch
from torch import nn

from genforge import LabelMap

#: Most stride-2 stages of the conv nets (64x64 -> 4x4).
MAX_CONV_DEPTH = 4


class Encoder(nn.Module):
    """``x`` (+ labels) -> (mean, logvar) of the diagonal Gaussian posterior q(z|x)."""

    def __init__(self, body: nn.Module, features: int, latent_dim: int,
                 label_map: LabelMap | None, flatten: bool) -> None:
        super().__init__()
        self.label_map = label_map
        self.flatten = flatten
        self.body = body
        self.head = nn.Linear(features, 2 * latent_dim)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the posterior mean and log-variance, each ``[N, latent_dim]``."""
        h = x.flatten(1) if self.flatten else x
        if self.label_map is not None:
            h = self.label_map(h, labels)
        mean, logvar = self.head(self.body(h)).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)


class Decoder(nn.Module):
    """``z`` (+ labels) -> the observation model's parameters, shaped like the data."""

    def __init__(self, body: nn.Module, label_map: LabelMap | None) -> None:
        super().__init__()
        self.label_map = label_map
        self.body = body

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Return logits (Bernoulli) or means before the output map (Gaussian)."""
        h = self.label_map(z, labels) if self.label_map is not None else z
        return self.body(h)


def mlp_layers(in_dim: int, hidden: int, layers: int) -> list[nn.Module]:
    """``layers`` Linear+ReLU pairs from ``in_dim`` to ``hidden`` features."""
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [nn.Linear(in_dim if i == 0 else hidden, hidden), nn.ReLU()]
    return mods


def conv_depth(height: int, width: int) -> int:
    """Stride-2 stages that halve both sides exactly while the smaller stays >= 4 (at most 4)."""
    depth = 0
    while (depth < MAX_CONV_DEPTH and height % 2 == 0 and width % 2 == 0
           and min(height, width) // 2 >= 4):
        height, width, depth = height // 2, width // 2, depth + 1
    return depth


def build_mlp(shape: tuple[int, ...], latent_dim: int, hidden: int, layers: int,
              emb: tuple[LabelMap, LabelMap] | None) -> tuple[Encoder, Decoder]:
    """An MLP encoder and decoder for data of any ``shape`` (flattened)."""
    dim = math.prod(shape)
    e = emb[0].embed.embedding_dim if emb else 0
    encoder = Encoder(nn.Sequential(*mlp_layers(dim + e, hidden, layers)), hidden, latent_dim,
                      emb[0] if emb else None, flatten=True)
    body = nn.Sequential(*mlp_layers(latent_dim + e, hidden, layers),
                         nn.Linear(hidden, dim), nn.Unflatten(1, tuple(shape)))
    return encoder, Decoder(body, emb[1] if emb else None)


def build_conv(shape: tuple[int, ...], latent_dim: int, hidden: int, width: int,
               emb: tuple[LabelMap, LabelMap] | None) -> tuple[Encoder, Decoder]:
    """A strided-conv encoder and a transposed-conv decoder for ``(C, H, W)`` images."""
    if len(shape) != 3:
        raise ValueError(f"model.arch = 'conv': needs image data (C, H, W), got shape {list(shape)}")
    c, h, w = shape
    depth = conv_depth(h, w)
    if depth == 0:
        raise ValueError(f"model.arch = 'conv': {h}x{w} images cannot be halved to >= 4 pixels; "
                         "use arch = 'mlp'")
    e = emb[0].embed.embedding_dim if emb else 0
    widths = [width * 2**i for i in range(depth)]
    top = (widths[-1], h >> depth, w >> depth)
    enc: list[nn.Module] = []
    for i, wd in enumerate(widths):
        enc += [nn.Conv2d(c + e if i == 0 else widths[i - 1], wd, 4, 2, 1), nn.ReLU()]
    enc += [nn.Flatten(), nn.Linear(math.prod(top), hidden), nn.ReLU()]
    encoder = Encoder(nn.Sequential(*enc), hidden, latent_dim, emb[0] if emb else None,
                      flatten=False)
    dec: list[nn.Module] = [nn.Linear(latent_dim + e, hidden), nn.ReLU(),
                            nn.Linear(hidden, math.prod(top)), nn.ReLU(), nn.Unflatten(1, top)]
    for i in range(depth - 1, 0, -1):
        dec += [nn.ConvTranspose2d(widths[i], widths[i - 1], 4, 2, 1), nn.ReLU()]
    dec.append(nn.ConvTranspose2d(widths[0], c, 4, 2, 1))
    return encoder, Decoder(nn.Sequential(*dec), emb[1] if emb else None)
