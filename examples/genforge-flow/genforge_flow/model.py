"""``Flow``: a RealNVP-style normalizing flow with exact log-likelihood.

Data ``x`` (flattened; for images first dequantized and mapped through a logit) goes
through alternating per-dimension affine maps and affine couplings to ``z``, which is
standard normal under the model. Training maximises the exact log-likelihood; sampling
is the inverse pass.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from genforge import DataInfo, GenerativeModel
from genforge_flow.config import FlowConfig
from genforge_flow.dequantize import LogitDequantizer
from genforge_flow.layers import Affine, AffineCoupling, alternating_masks

LOG_2PI = math.log(2.0 * math.pi)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) per row."""
    return -0.5 * (z * z + LOG_2PI).sum(1)


class InverseGraph(nn.Module):
    """The sampling graph: ``z`` -> inverse flow -> samples in the data's shape and range."""

    def __init__(self, layers: nn.ModuleList, shape: tuple[int, ...],
                 dequantizer: LogitDequantizer | None) -> None:
        super().__init__()
        self.layers = layers
        self.shape = shape
        self.dequantizer = dequantizer

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Run the layers backwards; for images map the logits back to pixel values."""
        h = z
        for layer in reversed(self.layers):
            h = cast("Affine | AffineCoupling", layer).inverse(h)
        if self.dequantizer is not None:
            h = self.dequantizer.to_pixels(h)
        return h.reshape(-1, *self.shape)


class Flow(GenerativeModel):
    """Affine couplings with alternating masks, each preceded by a per-dimension affine map."""

    conditional = False
    config: FlowConfig

    def __init__(self, config: FlowConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.shape = tuple(data_info.shape)
        self.latent_dim = math.prod(self.shape)
        self.dequantizer = None
        if data_info.kind == "image":
            value_range = data_info.value_range or (0.0, 1.0)
            self.dequantizer = LogitDequantizer(config.levels, config.logit_alpha, value_range)
        layers: list[nn.Module] = []
        for mask in alternating_masks(self.shape, config.coupling_layers):
            layers += [Affine(self.latent_dim),
                       AffineCoupling(mask, config.hidden, config.depth, config.scale_bound,
                                      config.dropout)]
        self.layers = nn.ModuleList(layers)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam over all parameters (lr 1e-3, betas (0.9, 0.999) by default)."""
        cfg = self.config
        return {"model": torch.optim.Adam(self.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))}

    def to_latent(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flattened flow input ``[N, D]`` to ``z`` and the per-example log|det dz/dh|."""
        logdet = torch.zeros(h.shape[0], device=h.device, dtype=h.dtype)
        for layer in self.layers:
            h, ld = layer(h)
            logdet = logdet + ld
        return h, logdet

    def log_density(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """Per-example log-likelihood in nats: exact for vectors; for images, of the pixels
        dequantized with noise ``u`` (``[N, D]`` in [0, 1)), as ``log p(y) - D log(levels)``."""
        h = x.reshape(x.shape[0], -1)
        extra = torch.zeros(h.shape[0], device=h.device, dtype=h.dtype)
        if self.dequantizer is not None:
            if u is None:
                raise ValueError("image data needs dequantization noise u")
            h, extra = self.dequantizer.to_logits(h, u)
            extra = extra - self.dequantizer.discrete_offset(self.latent_dim)
        z, logdet = self.to_latent(h)
        return standard_normal_log_density(z) + logdet + extra

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor | None],
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float | torch.Tensor]:
        """One Adam step on the negative log-likelihood per dimension (one dequantization draw)."""
        x, _ = batch
        u = torch.rand(x.shape[0], self.latent_dim, device=x.device) if self.dequantizer else None
        nll = -self.log_density(x, u).mean()
        loss = nll / self.latent_dim
        opt = optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.backward_step(loss, opt)
        metrics: dict[str, float | torch.Tensor] = {"loss": loss.detach(), "nll": nll.detach()}
        if self.dequantizer is not None:
            metrics["bits_per_dim"] = loss.detach() / math.log(2.0)
        return metrics

    @torch.no_grad()
    def log_likelihood(
        self,
        x: torch.Tensor,
        labels: torch.Tensor | None = None,
        k: int = 1,
        generator: torch.Generator | None = None,
        batch_size: int = 512,
    ) -> dict[str, torch.Tensor]:
        """Per-example log p(x) in nats (float64, CPU) as ``{"exact": ...}``.

        Vectors: the flow's exact log-density. Images: the exact log-density of the
        dequantized pixels minus ``D log(levels)``, averaged over ``k`` uniform
        dequantization draws from ``generator`` -- the usual dequantized log-likelihood, a
        lower bound on the log-probability of the discrete pixels; ``"iw"`` is the
        tighter importance-weighted estimate ``logsumexp - log k`` over the same draws.
        """
        self.check_labels(labels, len(x))
        if k < 1:
            raise ValueError(f"k = {k}: needs at least one dequantization draw")
        was_training = self.training
        self.eval()
        exact, iw = [], []
        try:
            for start in range(0, len(x), batch_size):
                xb = x[start : start + batch_size].to(self.device).reshape(-1, self.latent_dim)
                if self.dequantizer is None:
                    exact.append(self.log_density(xb).double().cpu())
                    continue
                u = torch.rand(k, len(xb), self.latent_dim, generator=generator).to(self.device)
                rows = xb.unsqueeze(0).expand(k, -1, -1).reshape(-1, self.latent_dim)
                w = self.log_density(rows, u.reshape(-1, self.latent_dim)).double().view(k, -1)
                exact.append(w.mean(0).cpu())
                iw.append((torch.logsumexp(w, 0) - math.log(k)).cpu())
        finally:
            self.train(was_training)
        out = {"exact": torch.cat(exact)}
        if iw:
            out["iw"] = torch.cat(iw)
        return out

    def _graph(self) -> InverseGraph:
        return InverseGraph(self.layers, self.shape, self.dequantizer)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The inverse pass: samples in the data's shape (images: pixel values in range)."""
        return self._graph()(z)

    def export_module(self) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
        """The inverse pass: ``z`` -> ``samples``."""
        return self._graph(), (torch.randn(2, self.latent_dim, device=self.device),), ["z"], ["samples"]

    def describe(self) -> dict[str, object]:
        """Parameter count, dimensions and coupling layers."""
        return {**super().describe(), "dims": self.latent_dim,
                "coupling_layers": self.config.coupling_layers}
