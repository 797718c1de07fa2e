"""``GenerativeModel``: the base class every model family subclasses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from pydantic import BaseModel
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genforge.data.info import DataInfo
from genforge.distributed import prepare_backward

Batch = tuple[torch.Tensor, "torch.Tensor | None"]


class GenerativeModel(nn.Module):
    """Base class of all model families.

    Subclasses build their networks in ``__init__(config, data_info)`` and implement
    ``train_step`` and ``generate`` (and usually ``export_module``); a subclass
    that takes class labels sets ``conditional = True``. ``train_step`` should update
    through ``backward_step(loss, optimizer)`` so that mixed precision works. Randomness in
    sampling comes only from the ``generator`` handed in, so that a seed fixes the
    samples; ``latent_dim`` names the size of the standard-normal input ``z``.
    """

    latent_dim: int = 0
    conditional: bool = False
    #: state-dict prefix of the weights an EMA averages (``""``: all; a GAN: its generator)
    ema_scope: str = ""

    def __init__(self, config: BaseModel, data_info: DataInfo) -> None:
        super().__init__()
        self.config = config
        self.data_info = data_info
        self.grad_scalers: dict[int, Any] = {}  # set by the trainer under fp16 mixed precision
        self.ddp: dict[int, DistributedDataParallel] = {}  # per optimizer, set under torchrun

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters."""
        return next(self.parameters()).device

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Return named optimizers; the default is one Adam over all parameters."""
        cfg = self.config
        return {
            "model": torch.optim.Adam(
                self.parameters(),
                lr=getattr(cfg, "lr", 2e-4),
                betas=(getattr(cfg, "beta1", 0.5), getattr(cfg, "beta2", 0.999)),
            )
        }

    def train_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, float | torch.Tensor]:
        """Run one optimisation step on ``batch`` = (x, labels or None); return losses."""
        raise NotImplementedError(f"{type(self).__name__} must implement train_step")

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backpropagate ``loss`` and step ``optimizer``; call this instead of ``backward()``/``step()``.

        Under ``trainer.precision = "16-mixed"`` the trainer attaches a gradient scaler per
        optimizer, which this applies; under several processes (``torchrun``) the trainer
        wraps each optimizer's parameters in ``DistributedDataParallel``, whose reducer this
        arms so that the backward pass averages their gradients across processes (each of
        those parameters must then get a gradient from ``loss``). Otherwise it is a plain
        backward and step.
        """
        scaler = self.grad_scalers.get(id(optimizer))
        ddp = self.ddp.get(id(optimizer))
        if ddp is not None:
            prepare_backward(ddp)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Map latents ``z`` (and labels) to samples in the data's value range."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate")

    def export_module(self) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
        """Return (module, example inputs, input names, output names) for ONNX export."""
        raise NotImplementedError(f"{type(self).__name__} does not support export")

    def check_labels(self, labels: torch.Tensor | Sequence[int] | int | None, n: int) -> torch.Tensor | None:
        """Validate labels for ``n`` samples and return them as an int64 tensor."""
        k = self.data_info.num_classes
        if not self.conditional:
            if labels is not None:
                raise ValueError("labels were given but this model is not conditional")
            return None
        if labels is None:
            return None
        t = torch.as_tensor(labels).long().reshape(-1)
        if t.numel() == 1:
            t = t.expand(n).clone()
        if t.numel() != n:
            raise ValueError(f"labels: expected 1 or {n} labels, got {t.numel()}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= k):
            raise ValueError(f"labels: expected class indices in [0, {k - 1}], got {t.tolist()[:10]}")
        return t

    @torch.no_grad()
    def sample(
        self,
        n: int,
        labels: torch.Tensor | Sequence[int] | int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` samples (eval mode, no grad); ``labels`` default to random classes.

        Latents and random labels are drawn on the CPU from ``generator`` so that a
        seed gives the same samples on every device.
        """
        y = self.check_labels(labels, n)
        if self.conditional and y is None:
            y = torch.randint(0, self.data_info.num_classes, (n,), generator=generator)
        z = torch.randn(n, self.latent_dim, generator=generator)
        was_training = self.training
        self.eval()
        try:
            dev = self.device
            return self.generate(z.to(dev), y.to(dev) if y is not None else None)
        finally:
            self.train(was_training)

    def describe(self) -> dict[str, Any]:
        """A short JSON-ready summary (parameter counts) for logs."""
        return {"parameters": sum(p.numel() for p in self.parameters())}
