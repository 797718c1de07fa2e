"""Generator and discriminator networks: DCGAN for square images, MLP for vectors."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from genforge import LabelMap


def conv_layout(size: int, arch: str = "DCGAN") -> tuple[int, int]:
    """(first side, stride-2 layers): ``size`` is a side of 4 to 7 doubled that often (28: 7, 2)."""
    start, depth = size, 0
    while start >= 8 and start % 2 == 0:
        start, depth = start // 2, depth + 1
    if depth == 0 or start > 7:
        raise ValueError(f"{arch} needs square images of 4 to 7 pixels doubled at least once "
                         f"(8, 12, 16, 24, 28, 32, 48, 64, ...), got {size}")
    return start, depth


class Generator(nn.Module):
    """``z`` (+ labels) -> sample: a DCGAN stack of transposed convs, or an MLP."""

    def __init__(self, body: nn.Module, latent_dim: int, label_map: LabelMap | None,
                 image: bool) -> None:
        super().__init__()
        self.body = body
        self.latent_dim = latent_dim
        self.label_map = label_map
        self.image = image

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Map noise to samples (tanh output in [-1, 1] for images)."""
        h = self.label_map(z, labels) if self.label_map is not None else z
        if self.image:
            h = h[:, :, None, None]
        return self.body(h)


class Discriminator(nn.Module):
    """Samples (+ labels) -> one logit per sample, or per pack of ``pack`` samples (PacGAN)."""

    def __init__(self, body: nn.Sequential, label_map: LabelMap | None, pack: int = 1,
                 flatten: bool = False, projection: nn.Embedding | None = None) -> None:
        super().__init__()
        self.body = body
        self.label_map = label_map
        self.pack = pack
        self.flatten = flatten
        self.projection = projection

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Return real/fake logits of shape ``[N // pack]``; ``N`` must be a multiple of ``pack``.

        Packing joins ``pack`` consecutive samples (with their labels) along dim 1, so the
        network judges them together and penalises a generator whose samples look alike
        (Lin et al., 2018, "PacGAN"). With a projection, the logit gains the inner product of
        the label embeddings (summed over a pack) with the last hidden features pooled over
        space (Miyato & Koyama, 2018, "cGANs with projection discriminator").
        """
        if self.flatten:
            x = x.flatten(1)
        h = self.label_map(x, labels) if self.label_map is not None else x
        n = h.shape[0]
        if self.pack > 1:
            if n % self.pack:
                raise ValueError(f"model.pack = {self.pack}: the discriminator got {n} "
                                 "samples, not a multiple of it")
            h = h.reshape(n // self.pack, self.pack * h.shape[1], *h.shape[2:])
        if self.projection is None or labels is None:
            return self.body(h).reshape(-1)
        feats = self.body[:-1](h)
        pooled = feats.flatten(2).sum(2) if feats.dim() > 2 else feats
        e = self.projection(labels).reshape(n // self.pack, self.pack, -1).sum(1)
        return self.body[-1](feats).reshape(-1) + (e * pooled).sum(1)


def dcgan_generator_body(in_dim: int, channels: int, size: int, ngf: int) -> nn.Sequential:
    """Transposed-conv stack from a ``[N, in_dim, 1, 1]`` input to ``[N, channels, size, size]``."""
    start, depth = conv_layout(size)
    width = ngf * 2 ** (depth - 1)
    layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, width, start, 1, 0, bias=False),
                               nn.BatchNorm2d(width), nn.ReLU(True)]
    for _ in range(depth - 1):
        layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(width // 2), nn.ReLU(True)]
        width //= 2
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def dcgan_discriminator_body(channels: int, size: int, ndf: int, norm: bool = True) -> nn.Sequential:
    """Strided-conv stack from ``[N, channels, size, size]`` to ``[N, 1, 1, 1]`` logits.

    ``norm = False`` leaves out the BatchNorm layers (for spectral normalisation).
    """
    start, depth = conv_layout(size)
    layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),
                               nn.LeakyReLU(0.2, inplace=True)]
    width = ndf
    for _ in range(depth - 1):
        layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(width * 2) if norm else nn.Identity(),
                   nn.LeakyReLU(0.2, inplace=True)]
        width *= 2
    layers += [nn.Conv2d(width, 1, start, 1, 0, bias=False)]
    return nn.Sequential(*layers)


def mlp(in_dim: int, out_dim: int, hidden: int, layers: int,
        act: Callable[[], nn.Module]) -> nn.Sequential:
    """A plain multi-layer perceptron; ``act`` builds each activation."""
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [nn.Linear(in_dim if i == 0 else hidden, hidden), act()]
    mods.append(nn.Linear(hidden if layers else in_dim, out_dim))
    return nn.Sequential(*mods)


def spectral_normalise(module: nn.Module) -> None:
    """Constrain every conv and linear weight of ``module`` to spectral norm 1 (Miyato et al., 2018)."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN weight init: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
