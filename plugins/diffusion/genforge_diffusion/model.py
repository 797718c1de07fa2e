"""``DDPM`` / ``CDDPM`` (denoising diffusion) and ``FM`` / ``CFM`` (flow matching).

Each trains one step network ``(x_t, t[, labels]) -> prediction`` and samples with the
shared samplers of ``genforge_runtime.samplers`` through ``genforge.iterate``; the ONNX
export is that step network, and ``genforge_runtime`` runs the same sampler code.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import BaseModel
from torch import nn

from genforge import DataInfo, GenerativeModel, Process, StepNoise, iterate
from genforge_diffusion.config import DiffusionConfig
from genforge_diffusion.nets import MLP, UNet
from genforge_diffusion.objectives import diffusion_loss, drop_labels, flow_loss
from genforge_diffusion.sampling import DiffusionSampling, FlowSampling
from genforge_runtime.samplers import alphas_cumprod

#: ``widths = "auto"``: images from this side up (and dividing by 4) get a third U-Net level.
THIRD_LEVEL_FROM = 24


def resolve_widths(widths: list[int] | Literal["auto"], info: DataInfo) -> list[int]:
    """Turn ``auto`` into [32, 64], or [32, 64, 128] for images of ``THIRD_LEVEL_FROM`` px and more.

    The third level brings 28x28 and 32x32 images to 7x7 and 8x8 at the lowest level: a
    receptive field that spans the image, and attention over 49 or 64 positions, not 196 or 256.
    """
    if widths != "auto":
        return list(widths)
    side = info.shape[-1]
    deep = info.kind == "image" and side >= THIRD_LEVEL_FROM and side % 4 == 0
    return [32, 64, 128] if deep else [32, 64]


def build_network(config: DiffusionConfig, info: DataInfo, time_scale: float, num_labels: int) -> nn.Module:
    """The U-Net (square images, ``[C, L]`` signals) or the MLP (vectors, or ``arch = "mlp"``)."""
    arch = config.arch if config.arch != "auto" else ("mlp" if info.kind == "vector" else "unet")
    shape = tuple(info.shape)
    if arch == "unet":
        return UNet(shape, resolve_widths(config.widths, info), config.blocks, config.attention,
                    config.heads, config.groups, config.embed_dim, time_scale, num_labels)
    return MLP(math.prod(shape), config.hidden, config.layers, config.embed_dim, time_scale, num_labels)


class DDPM(GenerativeModel):
    """Unconditional denoising diffusion (epsilon- or v-prediction, linear or cosine schedule)."""

    conditional = False
    #: the registered name (for messages)
    family = "ddpm"
    config: DiffusionConfig
    abar: torch.Tensor
    options_cls: type[BaseModel] = DiffusionSampling

    def __init__(self, config: DiffusionConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.shape = tuple(data_info.shape)
        self.latent_dim = math.prod(self.shape)  # z is the loop's starting noise
        k = data_info.num_classes if self.conditional else 0
        if self.conditional and k == 0:
            raise ValueError(f"{self.family} needs labelled data (the data source reports no classes)")
        self.null_label = k if self.conditional else None
        self.image = data_info.kind == "image"
        self.net = build_network(config, data_info, self.time_scale(), k + 1 if k else 0)
        self.register_buffer("abar", self.schedule(), persistent=False)

    def time_scale(self) -> float:
        """What maps the network's ``t`` to ``[0, 1]``: the timestep index over the timesteps."""
        return 1.0 / self.config.train_steps

    def schedule(self) -> torch.Tensor:
        """``abar[t]`` for the training timesteps (float32)."""
        return torch.tensor(alphas_cumprod(self.sampling_process()), dtype=torch.float32)

    def data_transform(self) -> tuple[float, float]:
        """(scale, shift) with samples = x * scale + shift: images live in [-1, 1] for the network."""
        return (0.5, 0.5) if self.image else (self.config.data_std, 0.0)

    def sampling_process(self) -> Process:
        """The diffusion process of the step network, as the samplers and the manifest know it."""
        cfg = self.config
        scale, shift = self.data_transform()
        return Process("diffusion", cfg.schedule, cfg.prediction, cfg.train_steps, scale, shift)

    def loss(self, x0: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The training loss on a batch already in network units."""
        return diffusion_loss(self.net, x0, labels, self.abar, self.config.prediction)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam over the step network (lr 1e-3, betas (0.9, 0.999) by default)."""
        cfg = self.config
        return {"model": torch.optim.Adam(self.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))}

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor | None],
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float | torch.Tensor]:
        """One Adam step on the denoising loss; conditional models drop labels at ``label_dropout``."""
        x, y = batch
        scale, shift = self.data_transform()
        x0 = (x - shift) / scale
        y = drop_labels(y, self.config.label_dropout, self.null_label) if self.conditional else None
        loss = self.loss(x0, y)
        opt = optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.backward_step(loss, opt)
        return {"loss": loss.detach()}

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None, *,
                 noise: StepNoise | None = None, options: BaseModel | None = None) -> torch.Tensor:
        """Run the sampler ``options`` name from ``z``, drawing per-step noise from ``noise``."""
        if self.conditional and labels is None:
            raise ValueError(f"{self.family}: generate needs labels")
        opts = options or self.sampler_options or self.options_cls()
        return iterate(self.sampling_process(), opts, z, self.net, labels if self.conditional else None,
                       noise, shape=self.shape, value_range=self.data_info.value_range,
                       null_label=self.null_label)

    def export_module(self) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
        """The step network: ``x``, ``t`` (float32 ``[N]``) [, ``labels`` int64] -> ``prediction``."""
        x = torch.randn(2, *self.shape, device=self.device)
        t = torch.tensor([0.25, 0.75], device=self.device) / self.time_scale()
        if not self.conditional:
            return self.net, (x, t), ["x", "t"], ["prediction"]
        labels = torch.arange(2, device=self.device) % self.data_info.num_classes
        return self.net, (x, t, labels), ["x", "t", "labels"], ["prediction"]

    def describe(self) -> dict[str, object]:
        """Parameter count and step network."""
        return {**super().describe(), "network": type(self.net).__name__}


class CDDPM(DDPM):
    """Label-conditioned diffusion, trained with label dropout for classifier-free guidance."""

    conditional = True
    family = "cddpm"


class FM(DDPM):
    """Unconditional flow matching: velocity on the straight path from data (s = 0) to noise (s = 1)."""

    family = "fm"
    options_cls = FlowSampling

    def time_scale(self) -> float:
        """Flow times are already in ``[0, 1]``."""
        return 1.0

    def schedule(self) -> torch.Tensor:
        """Flow matching has no discrete schedule."""
        return torch.zeros(0)

    def sampling_process(self) -> Process:
        """The straight-path flow, as the samplers and the manifest know it."""
        scale, shift = self.data_transform()
        return Process("flow", "linear", "velocity", scale=scale, shift=shift)

    def loss(self, x0: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Velocity matching at times drawn by ``time_sampling``."""
        return flow_loss(self.net, x0, labels, self.config.time_sampling)


class CFM(FM):
    """Label-conditioned flow matching, trained with label dropout for classifier-free guidance."""

    conditional = True
    family = "cfm"
