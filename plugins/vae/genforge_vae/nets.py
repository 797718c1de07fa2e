"""Encoder and decoder networks: strided convs for images (2-D) and signals (1-D), MLPs for
vectors and small images."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from genforge import LabelMap

#: Most stride-2 stages of the conv nets: for images (64x64 -> 4x4) ...
MAX_CONV_DEPTH = 4
#: ... and for signals (length L -> L / 256), whose samples are longer than an image's side.
MAX_SIGNAL_DEPTH = 8
#: Channels stop doubling after this many stages.
MAX_DOUBLINGS = 3
#: (convolution, transposed convolution) per number of spatial dimensions.
CONVS: dict[int, tuple[type[nn.Module], type[nn.Module]]] = {
    1: (nn.Conv1d, nn.ConvTranspose1d), 2: (nn.Conv2d, nn.ConvTranspose2d)}


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


def conv_depth(sides: Sequence[int]) -> int:
    """Stride-2 stages that halve every side exactly while the smallest stays >= 4 (at most
    ``MAX_CONV_DEPTH`` for images, ``MAX_SIGNAL_DEPTH`` for signals)."""
    limit = MAX_SIGNAL_DEPTH if len(sides) == 1 else MAX_CONV_DEPTH
    depth = 0
    while depth < limit and all(s % 2 == 0 for s in sides) and min(sides) // 2 >= 4:
        sides, depth = [s // 2 for s in sides], depth + 1
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
    """A strided-conv encoder and a transposed-conv decoder for ``(C, H, W)`` images or ``(C, L)`` signals.

    Each stage halves every side (kernel 4, stride 2) and doubles the channels from ``width``
    (at most three times); a dense layer of ``hidden`` units joins the last stage and the latent.
    """
    if len(shape) not in (2, 3):
        raise ValueError(f"model.arch = 'conv': needs images (C, H, W) or signals (C, L), got shape "
                         f"{list(shape)}")
    c, sides = shape[0], shape[1:]
    conv, deconv = CONVS[len(sides)]
    depth = conv_depth(sides)
    if depth == 0:
        raise ValueError(f"model.arch = 'conv': {'x'.join(map(str, sides))} cannot be halved to >= 4 "
                         "samples per side; use arch = 'mlp'")
    e = emb[0].embed.embedding_dim if emb else 0
    widths = [width * 2 ** min(i, MAX_DOUBLINGS) for i in range(depth)]
    top = (widths[-1], *(s >> depth for s in sides))
    enc: list[nn.Module] = []
    for i, wd in enumerate(widths):
        enc += [conv(c + e if i == 0 else widths[i - 1], wd, 4, 2, 1), nn.ReLU()]
    enc += [nn.Flatten(), nn.Linear(math.prod(top), hidden), nn.ReLU()]
    encoder = Encoder(nn.Sequential(*enc), hidden, latent_dim, emb[0] if emb else None,
                      flatten=False)
    dec: list[nn.Module] = [nn.Linear(latent_dim + e, hidden), nn.ReLU(),
                            nn.Linear(hidden, math.prod(top)), nn.ReLU(), nn.Unflatten(1, top)]
    for i in range(depth - 1, 0, -1):
        dec += [deconv(widths[i], widths[i - 1], 4, 2, 1), nn.ReLU()]
    dec.append(deconv(widths[0], c, 4, 2, 1))
    return encoder, Decoder(nn.Sequential(*dec), emb[1] if emb else None)
