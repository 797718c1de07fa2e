"""Observation models p(x|z): Bernoulli (binarised or continuous targets) and diagonal Gaussian.

Each turns the decoder's raw output (``params``) into a per-example log-density summed
over the data dimensions, and into the decoder mean that ``generate`` returns. The
log-density follows the dtype of ``params``, so evaluation can run it in float64.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genforge import DataInfo

#: Smallest standard deviation a learned Gaussian may reach.
MIN_STD = 1e-3

LOG_2PI = math.log(2.0 * math.pi)


class Observation(nn.Module):
    """Base class: ``prepare`` the data, score it with ``log_prob``, map params to ``mean``."""

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Return the targets the model is trained and evaluated on (default: ``x``)."""
        return x

    def log_prob(self, params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return log p(target | params) per example, shape ``[N]``."""
        raise NotImplementedError

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """Return the mean of p(x | params) in the data's value range."""
        raise NotImplementedError


class Bernoulli(Observation):
    """Independent Bernoulli pixels over logits; ``binarise`` thresholds data at 0.5 first."""

    def __init__(self, binarise: bool) -> None:
        super().__init__()
        self.binarise = binarise

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Binarise at half the [0, 1] range (x >= 0.5), or pass continuous values through."""
        return (x >= 0.5).to(x.dtype) if self.binarise else x

    def log_prob(self, params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Minus the binary cross-entropy with logits, summed per example."""
        bce = F.binary_cross_entropy_with_logits(params, target.to(params.dtype), reduction="none")
        return -bce.flatten(1).sum(1)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """The pixel probabilities."""
        return torch.sigmoid(params)


class Gaussian(Observation):
    """Diagonal normal around the decoder mean (sigmoid-squashed into [0, 1] for images)."""

    def __init__(self, shape: tuple[int, ...], std: float, learned: bool, squash: bool) -> None:
        super().__init__()
        self.squash = squash
        log_std = torch.full(shape, math.log(std))
        if learned:
            self.log_std = nn.Parameter(log_std)
        else:
            self.register_buffer("log_std", log_std, persistent=False)

    def log_prob(self, params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The normal log-density of ``target`` summed per example."""
        mu = self.mean(params)
        log_std = self.log_std.clamp(min=math.log(MIN_STD)).to(params.dtype)
        z = (target.to(params.dtype) - mu) * torch.exp(-log_std)
        return (-0.5 * z * z - log_std - 0.5 * LOG_2PI).flatten(1).sum(1)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """The decoder output, or its sigmoid for images."""
        return torch.sigmoid(params) if self.squash else params


def resolve_likelihood(name: str, info: DataInfo) -> str:
    """Turn ``auto`` into ``bernoulli`` for grey images, ``bernoulli-continuous`` for colour ones
    and ``gaussian`` for vectors and signals.

    Binarising at 0.5 keeps a digit but leaves a colour photo eight colours; the continuous
    targets keep its values, with the same (parameter-free) decoder output as before.
    """
    if name == "auto":
        if info.kind != "image":
            return "gaussian"
        return "bernoulli" if info.shape[0] == 1 else "bernoulli-continuous"
    return name


def build_observation(name: str, info: DataInfo, std: float, learned: bool) -> Observation:
    """Build the observation model ``name`` for data described by ``info``."""
    if name in ("bernoulli", "bernoulli-continuous"):
        if info.value_range is None or tuple(info.value_range) != (0.0, 1.0):
            raise ValueError(f"model.likelihood = {name!r}: needs data in [0, 1], but "
                             f"{info.name or 'the data'} has value range {info.value_range}; "
                             "use likelihood = 'gaussian'")
        return Bernoulli(binarise=name == "bernoulli")
    if name == "gaussian":
        return Gaussian(tuple(info.shape), std, learned, squash=info.kind == "image")
    raise ValueError(f"model.likelihood = {name!r}: unknown")
