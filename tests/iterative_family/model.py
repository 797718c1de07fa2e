"""``TinyDDPM``: an MLP predicts the noise of ``x_t``; the shared samplers run the loop."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel
from torch import nn

from genforge import GenerativeModel, Process, StepNoise, iterate
from genforge.data.info import DataInfo
from genforge_runtime.samplers import alphas_cumprod
from tests.iterative_family.plugin import TinyDDPMSampling


class StepNetwork(nn.Module):
    """``(x_t, t, labels) -> prediction``: what the ONNX file holds and the runtime steps."""

    def __init__(self, shape: tuple[int, ...], hidden: int, num_classes: int, train_steps: int) -> None:
        super().__init__()
        self.shape = shape
        self.train_steps = train_steps
        dim = math.prod(shape)
        self.inp = nn.Linear(dim, hidden)
        self.time = nn.Linear(8, hidden)
        self.label = nn.Embedding(num_classes + 1, hidden)  # the last row is the null label
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The predicted noise, shaped like ``x``."""
        freqs = torch.arange(1, 5, dtype=torch.float32, device=x.device) * math.pi
        phase = (t / self.train_steps)[:, None] * freqs
        h = self.inp(x.flatten(1)) + self.time(torch.cat([phase.sin(), phase.cos()], 1)) + self.label(labels)
        return self.out(h).reshape(-1, *self.shape)


class TinyDDPM(GenerativeModel):
    """A conditional DDPM per the iterative contract: all sampling noise comes from ``noise``."""

    conditional = True

    def __init__(self, config: BaseModel, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.shape = tuple(data_info.shape)
        self.latent_dim = math.prod(self.shape)  # z is x_T, the loop's starting noise
        self.null_label = data_info.num_classes
        self.image = data_info.value_range == (0.0, 1.0)
        self.net = StepNetwork(self.shape, config.hidden, data_info.num_classes, config.train_steps)
        abar = torch.tensor(alphas_cumprod(self.sampling_process()), dtype=torch.float32)
        self.register_buffer("abar", abar, persistent=False)

    def sampling_process(self) -> Process:
        """Images are modelled in [-1, 1] (samples = x * 0.5 + 0.5), vectors as they are."""
        cfg = self.config
        scale, shift = (0.5, 0.5) if self.image else (1.0, 0.0)
        return Process("diffusion", cfg.schedule, cfg.prediction, cfg.train_steps, scale, shift)

    def train_step(self, batch, optimizers):
        """Noise a batch at random timesteps and regress the network onto the noise (or v)."""
        x, labels = batch
        x0 = x * 2.0 - 1.0 if self.image else x
        t = torch.randint(0, self.config.train_steps, (len(x0),), device=x0.device)
        eps = torch.randn_like(x0)
        a = self.abar[t].reshape(-1, *([1] * (x0.dim() - 1)))
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        drop = torch.rand(len(x0), device=x0.device) < self.config.label_dropout
        y = torch.where(drop, torch.full_like(labels, self.null_label), labels)
        target = eps if self.config.prediction == "epsilon" else a.sqrt() * eps - (1 - a).sqrt() * x0
        loss = F.mse_loss(self.net(xt, t.float(), y), target)
        opt = optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.backward_step(loss, opt)
        return {"loss": loss.detach()}

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None, *,
                 noise: StepNoise | None = None, options: BaseModel | None = None) -> torch.Tensor:
        """Run the sampler ``options`` names from ``z``, drawing step noise from ``noise``."""
        if labels is None:
            raise ValueError("tinyddpm: generate needs labels")
        return iterate(self.sampling_process(), options or TinyDDPMSampling(), z, self.net, labels, noise,
                       shape=self.shape, value_range=self.data_info.value_range, null_label=self.null_label)

    def export_module(self):
        """The one-step network: ``x``, ``t`` (float32 [N]), ``labels`` -> ``prediction``."""
        x = torch.randn(2, *self.shape, device=self.device)
        t = torch.tensor([3.0, 700.0], device=self.device)
        labels = torch.arange(2, device=self.device) % self.data_info.num_classes
        return self.net, (x, t, labels), ["x", "t", "labels"], ["prediction"]
