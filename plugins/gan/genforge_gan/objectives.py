"""The GAN objectives (``model.loss``) and the discriminator's penalties, as functions of its outputs.

Discriminator outputs are raw scores (logits): one per sample, or per pack under PacGAN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss for its scores on reals and fakes under objective ``kind``.

    ``nonsaturating``: binary cross-entropy, reals 1 and fakes 0 (Goodfellow et al., 2014);
    ``hinge``: ``relu(1 - real) + relu(1 + fake)`` (Lim & Ye, 2017; Miyato et al., 2018);
    ``wasserstein``: ``fake - real``, the critic's negated Wasserstein estimate (Arjovsky et
    al., 2017); ``lsgan``: ``((real - 1)^2 + fake^2) / 2`` (Mao et al., 2017). Each is a mean.
    """
    if kind == "nonsaturating":
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "wasserstein":
        return fake.mean() - real.mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()
    raise ValueError(f"model.loss = {kind!r}: unknown objective")


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss for the discriminator's scores on its samples under objective ``kind``.

    ``nonsaturating``: cross-entropy against the label 1 (``-log D``); ``hinge`` and
    ``wasserstein``: ``-fake``; ``lsgan``: ``(fake - 1)^2 / 2``. Each is a mean.
    """
    if kind == "nonsaturating":
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind in ("hinge", "wasserstein"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    raise ValueError(f"model.loss = {kind!r}: unknown objective")


def input_gradients(scores: torch.Tensor, inputs: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """The gradient of the summed ``scores`` with respect to ``inputs``, differentiable again.

    ``scale`` is a mixed-precision gradient scaler's factor: the sum is multiplied by it
    before the backward pass (so small gradients do not underflow in half precision) and
    the gradient divided by it after.
    """
    (grad,) = torch.autograd.grad(scores.sum() * scale, inputs, create_graph=True)
    return grad / scale if scale != 1.0 else grad


def _per_score(grad: torch.Tensor, scores: int) -> torch.Tensor:
    """The gradient as one row per score: a pack's samples form one input of the discriminator."""
    return grad.float().reshape(scores, -1)


def squared_gradient_norm(grad: torch.Tensor, scores: int) -> torch.Tensor:
    """``E |grad|^2`` over the ``scores`` inputs: the R1 (on reals) or R2 (on fakes) penalty."""
    return _per_score(grad, scores).pow(2).sum(1).mean()


def gradient_penalty(grad: torch.Tensor, scores: int) -> torch.Tensor:
    """``E (|grad| - 1)^2`` over the ``scores`` inputs: WGAN-GP's penalty (Gulrajani et al., 2017)."""
    return (_per_score(grad, scores).norm(dim=1) - 1.0).pow(2).mean()


def interpolate(real: torch.Tensor, fake: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """Points on the lines between reals and fakes, one uniform weight per pack (torch's RNG)."""
    n = real.shape[0]
    t = torch.rand(n // pack, device=real.device).repeat_interleave(pack)
    t = t.reshape(n, *([1] * (real.dim() - 1))).to(real.dtype)
    return t * real + (1.0 - t) * fake


def lecam_penalty(real: torch.Tensor, fake: torch.Tensor, anchor_real: torch.Tensor,
                  anchor_fake: torch.Tensor) -> torch.Tensor:
    """LeCam's penalty (Tseng et al., 2021, as in the authors' code): real scores above the fakes'
    EMA and fake scores below the reals' EMA, squared: ``E relu(real - a_F)^2 + E relu(a_R - fake)^2``."""
    return (F.relu(real.float() - anchor_fake).pow(2).mean()
            + F.relu(anchor_real - fake.float()).pow(2).mean())
