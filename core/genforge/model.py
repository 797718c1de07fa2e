"""``GenerativeModel``: the base class every model family subclasses."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import torch
from pydantic import BaseModel
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genforge.data.info import DataInfo
from genforge.distributed import prepare_backward
from genforge.noise import DeviceStreams
from genforge.sampling import StepNoise, seed_of
from genforge_runtime.noise import NoiseStreams

if TYPE_CHECKING:
    from genforge_runtime.samplers import Process

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
    #: the sample-time options ``sample`` uses by default (the run's ``[sampler]`` section)
    sampler_options: BaseModel | None = None
    #: iterative conditional families trained with label dropout: the label meaning "no
    #: class" (usually ``num_classes``), which classifier-free guidance feeds the step network
    null_label: int | None = None

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
        """Map latents ``z`` (and labels) to samples in the data's value range.

        An iterative family adds the keyword-only ``noise`` and ``options`` of
        ``SamplesInALoop.generate``: it draws its per-step noise from ``noise``
        (``noise.next()`` or ``noise.draw(j)``) and reads its sample-time ``options``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement generate")

    def sampling_process(self) -> Process | None:
        """The noising process of an iterative family's step network (``None``: one-shot)."""
        return None

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

    def sample(
        self,
        n: int,
        labels: torch.Tensor | Sequence[int] | int | None = None,
        generator: torch.Generator | None = None,
        *,
        seed: int | None = None,
        options: BaseModel | None = None,
        batch_size: int | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` samples (eval mode, no grad); ``labels`` default to random classes.

        The draws follow the noise contract (``genforge_runtime.noise``) for ``seed``, or for
        a seed drawn from ``generator``: the same samples on every device and batch size,
        and the same as ``genforge_runtime`` gives for that seed. ``options`` replace the
        model's ``sampler_options`` for this call.
        """
        parts = list(self.sample_batches(n, labels, generator, seed=seed, options=options,
                                         batch_size=batch_size))
        if not parts:
            return torch.empty(0, *self.data_info.shape)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    @torch.no_grad()
    def sample_batches(
        self,
        n: int,
        labels: torch.Tensor | Sequence[int] | int | None = None,
        generator: torch.Generator | None = None,
        *,
        seed: int | None = None,
        options: BaseModel | None = None,
        batch_size: int | None = None,
    ) -> Iterator[torch.Tensor]:
        """``sample`` batch by batch (at most ``batch_size`` rows each, all at once by default)."""
        one = isinstance(labels, int)
        y = self.check_labels(labels, 1 if one else n)
        streams = NoiseStreams(seed if seed is not None else seed_of(generator))
        opts = options if options is not None else self.sampler_options
        size = max(n, 1) if batch_size is None else batch_size
        if size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size}")
        was_training = self.training
        self.eval()
        try:
            dev = self.device
            draws = DeviceStreams(streams, dev)
            for start in range(0, n, size):
                rows = min(size, n - start)
                if y is not None:
                    yb = (y.expand(rows) if one else y[start : start + rows]).to(dev)
                elif self.conditional:
                    yb = draws.labels(rows, self.data_info.num_classes)
                else:
                    yb = None
                z = draws.latents(rows, self.latent_dim)
                noise = StepNoise(streams, rows, tuple(self.data_info.shape), dev)
                yield self.generate_with(z, yb, noise, opts)
        finally:
            self.train(was_training)

    def generate_with(self, z: torch.Tensor, labels: torch.Tensor | None, noise: StepNoise,
                      options: BaseModel | None) -> torch.Tensor:
        """Call ``generate``, passing ``noise`` and ``options`` only if its signature takes them."""
        if _takes_noise(type(self).generate):
            return cast(SamplesInALoop, self).generate(z, labels, noise=noise, options=options)
        return self.generate(z, labels)

    def describe(self) -> dict[str, Any]:
        """A short JSON-ready summary (parameter counts) for logs."""
        return {"parameters": sum(p.numel() for p in self.parameters())}


class SamplesInALoop(Protocol):
    """The ``generate`` of a family that samples in a loop (its extra keywords are keyword-only)."""

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None, *,
                 noise: StepNoise | None = None, options: BaseModel | None = None) -> torch.Tensor:
        """Samples from latents ``z``, with per-step noise from ``noise`` and sample-time ``options``."""
        ...


@functools.cache
def _takes_noise(generate: Callable[..., torch.Tensor]) -> bool:
    """Whether a ``generate`` has the keyword-only ``noise`` and ``options`` parameters."""
    params = inspect.signature(generate).parameters
    return "noise" in params and "options" in params
