"""``VAE`` and ``CVAE``: the ELBO (optionally beta-weighted, with KL warm-up) trained with Adam."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from genforge import DataInfo, GenerativeModel, LabelMap
from genforge_vae.config import VAEConfig
from genforge_vae.likelihoods import Observation, build_observation, resolve_likelihood
from genforge_vae.nets import Decoder, Encoder, build_conv, build_mlp, conv_depth

#: ``arch = "auto"`` picks the MLP for images with at most this many pixels per channel.
MLP_MAX_PIXELS = 16 * 16
#: ``latent_dim = "auto"``: the latent size of colour images, and of everything else.
COLOUR_LATENT, LATENT = 64, 16

LOG_2PI = math.log(2.0 * math.pi)


class DecoderExport(nn.Module):
    """The exported decoder: ``z`` (+ ``labels``) -> ``samples``, the decoder mean."""

    def __init__(self, decoder: Decoder, observation: Observation,
                 value_range: tuple[float, float] | None) -> None:
        super().__init__()
        self.decoder = decoder
        self.observation = observation
        self.value_range = value_range

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Decode and map to the data's value range (probabilities for Bernoulli pixels)."""
        out = self.observation.mean(self.decoder(z, labels))
        if self.value_range is not None:
            out = out.clamp(*self.value_range)
        return out


class EncoderExport(nn.Module):
    """The exported encoder: ``x`` (+ ``labels``) -> (``mean``, ``logvar``) of q(z|x)."""

    def __init__(self, encoder: Encoder, observation: Observation) -> None:
        super().__init__()
        self.encoder = encoder
        self.observation = observation

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prepare ``x`` as in training (binarised for ``bernoulli``) and encode it."""
        return self.encoder(self.observation.prepare(x), labels)


def resolve_arch(arch: str, info: DataInfo) -> str:
    """Turn ``auto`` into ``conv`` (images over 16x16, signals that halve) or ``mlp`` (the rest)."""
    if arch == "auto":
        if info.kind == "signal":
            return "conv" if conv_depth(info.shape[1:]) else "mlp"
        small = math.prod(info.shape[1:]) <= MLP_MAX_PIXELS
        return "conv" if info.kind == "image" and not small else "mlp"
    if arch == "conv" and info.kind == "vector":
        raise ValueError("model.arch = 'conv': needs image or signal data; use 'mlp' for vectors")
    return arch


def resolve_latent_dim(latent_dim: int | Literal["auto"], info: DataInfo) -> int:
    """Turn ``auto`` into 64 for colour images (a 32x32 photo holds 3,072 values) and 16 otherwise."""
    if latent_dim != "auto":
        return latent_dim
    return COLOUR_LATENT if info.kind == "image" and info.shape[0] > 1 else LATENT


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, exp(logvar)) summed over the last dimension."""
    return (-0.5 * ((z - mean) ** 2 * torch.exp(-logvar) + logvar + LOG_2PI)).sum(-1)


class VAE(GenerativeModel):
    """Variational autoencoder with a standard-normal prior and a diagonal Gaussian posterior."""

    conditional = False
    config: VAEConfig
    steps_done: torch.Tensor  # a registered buffer: updates done, for the KL warm-up

    def __init__(self, config: VAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.latent_dim = resolve_latent_dim(config.latent_dim, data_info)
        k = data_info.num_classes if self.conditional else 0
        if self.conditional and k == 0:
            raise ValueError("cvae needs labelled data (the data source reports no classes)")
        self.arch = resolve_arch(config.arch, data_info)
        self.likelihood = resolve_likelihood(config.likelihood, data_info)
        self.observation = build_observation(self.likelihood, data_info, config.gaussian_std,
                                             learned=config.gaussian_variance == "learned")
        emb = (LabelMap(k, config.embed_dim), LabelMap(k, config.embed_dim)) if k else None
        shape = tuple(data_info.shape)
        if self.arch == "conv":
            self.encoder, self.decoder = build_conv(shape, self.latent_dim, config.hidden,
                                                    config.width, emb)
        else:
            self.encoder, self.decoder = build_mlp(shape, self.latent_dim, config.hidden,
                                                   config.layers, emb)
        # Optimisation steps taken; drives the KL warm-up and is saved with the weights.
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.int64))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam over all parameters (lr 1e-3, betas (0.9, 0.999) by default)."""
        cfg = self.config
        return {"model": torch.optim.Adam(self.parameters(), lr=cfg.lr,
                                          betas=(cfg.beta1, cfg.beta2))}

    def kl_weight(self) -> torch.Tensor:
        """The KL weight of the next step: ``beta``, ramped from 0 over ``kl_warmup_steps``."""
        cfg = self.config
        if cfg.kl_warmup_steps == 0:
            return torch.tensor(cfg.beta, device=self.steps_done.device)
        ramp = (self.steps_done.double() / cfg.kl_warmup_steps).clamp(max=1.0)
        return (ramp * cfg.beta).float()

    def _labels(self, labels: torch.Tensor | None, n: int) -> torch.Tensor | None:
        y = self.check_labels(labels, n)
        if self.conditional and y is None:
            raise ValueError("cvae: labels are required")
        return y.to(self.device) if y is not None else None

    def loss_terms(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-example ``recon`` (-log p(x|z), one z ~ q) and analytic ``kl`` (KL(q || p)), in nats."""
        target = self.observation.prepare(x)
        mean, logvar = self.encoder(target, labels)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        recon = -self.observation.log_prob(self.decoder(z, labels), target)
        kl = 0.5 * (mean * mean + torch.exp(logvar) - 1.0 - logvar).sum(1)
        return {"recon": recon, "kl": kl}

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor | None],
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float | torch.Tensor]:
        """One Adam step on the (beta-weighted) negative ELBO; ``loss`` is what was minimised."""
        x, y = batch
        y = y if self.conditional else None
        terms = self.loss_terms(x, y)
        recon, kl = terms["recon"].mean(), terms["kl"].mean()
        loss = recon + self.kl_weight() * kl
        opt = optimizers["model"]
        opt.zero_grad(set_to_none=True)
        self.backward_step(loss, opt)
        self.steps_done.add_(1)
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

    @torch.no_grad()
    def log_likelihood(
        self,
        x: torch.Tensor,
        labels: torch.Tensor | None = None,
        k: int = 100,
        generator: torch.Generator | None = None,
        batch_size: int = 256,
        max_rows: int = 8192,
    ) -> dict[str, torch.Tensor]:
        """Per-example lower bounds on log p(x) in nats (float64, CPU): ``elbo`` and ``iwae``.

        Both use the same ``k`` samples z_i ~ q(z|x) and log-weights
        w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x): ``elbo`` is their mean (a k-sample
        Monte Carlo ELBO), ``iwae`` is logsumexp_i(w_i) - log k, so ``iwae >= elbo`` for
        every example and the two are equal for k = 1. Noise comes from ``generator`` (CPU);
        examples go in batches of ``batch_size``, samples in chunks of about ``max_rows``
        decoder rows, to bound memory. Targets are prepared as in training (binarised for
        ``bernoulli``).
        """
        if k < 1:
            raise ValueError(f"k = {k}: needs at least one importance sample")
        y_all = self._labels(labels, len(x))
        was_training = self.training
        self.eval()
        elbo, iwae = [], []
        try:
            for start in range(0, len(x), batch_size):
                xb = x[start : start + batch_size].to(self.device)
                yb = y_all[start : start + batch_size] if y_all is not None else None
                w = self._log_weights(self.observation.prepare(xb), yb, k, generator, max_rows)
                elbo.append(w.mean(0).cpu())
                iwae.append((torch.logsumexp(w, 0) - math.log(k)).cpu())
        finally:
            self.train(was_training)
        return {"elbo": torch.cat(elbo), "iwae": torch.cat(iwae)}

    def _log_weights(self, target: torch.Tensor, labels: torch.Tensor | None, k: int,
                     generator: torch.Generator | None, max_rows: int) -> torch.Tensor:
        """``[k, N]`` float64 log importance weights of ``k`` posterior samples per example."""
        n = target.shape[0]
        mean, logvar = (t.double() for t in self.encoder(target, labels))
        eps = torch.randn(k, n, self.latent_dim, generator=generator, dtype=torch.float64)
        z = (mean + torch.exp(0.5 * logvar) * eps.to(mean.device)).float()
        z64 = z.double()  # score exactly the point the decoder sees
        log_q = gaussian_log_density(z64, mean, logvar)
        log_p = gaussian_log_density(z64, torch.zeros_like(z64), torch.zeros_like(z64))
        log_x = torch.empty(k, n, dtype=torch.float64, device=mean.device)
        chunk = max(1, max_rows // n)
        for i in range(0, k, chunk):
            zc = z[i : i + chunk]
            c = zc.shape[0]
            yc = labels.repeat(c) if labels is not None else None
            params = self.decoder(zc.reshape(c * n, -1), yc).double()
            tc = target.unsqueeze(0).expand(c, *target.shape).reshape(c * n, *target.shape[1:])
            log_x[i : i + c] = self.observation.log_prob(params, tc).view(c, n)
        return log_x + log_p - log_q

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder mean at the posterior mean of each ``x`` (eval mode, no noise)."""
        y = self._labels(labels, len(x))
        was_training = self.training
        self.eval()
        try:
            mean, _ = self.encoder(self.observation.prepare(x.to(self.device)), y)
            return self.generate(mean, y)
        finally:
            self.train(was_training)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder mean: in [0, 1] for images (pixel probabilities for Bernoulli)."""
        if self.conditional and labels is None:
            raise ValueError("cvae: generate needs labels")
        return self._decoder_export()(z, labels if self.conditional else None)

    def _decoder_export(self) -> DecoderExport:
        return DecoderExport(self.decoder, self.observation, self.data_info.value_range)

    def _example_labels(self) -> tuple[torch.Tensor, ...]:
        if not self.conditional:
            return ()
        return (torch.arange(2, device=self.device) % self.data_info.num_classes,)

    def export_module(self) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
        """The decoder: ``z`` [, ``labels`` int64] -> ``samples`` (the decoder mean)."""
        z = torch.randn(2, self.latent_dim, device=self.device)
        names = ["z", "labels"] if self.conditional else ["z"]
        return self._decoder_export(), (z, *self._example_labels()), names, ["samples"]

    def export_encoder(self) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
        """The encoder: ``x`` [, ``labels`` int64] -> ``mean``, ``logvar`` of q(z|x)."""
        x = torch.rand(2, *self.data_info.shape, device=self.device)
        names = ["x", "labels"] if self.conditional else ["x"]
        module = EncoderExport(self.encoder, self.observation)
        return module, (x, *self._example_labels()), names, ["mean", "logvar"]

    def describe(self) -> dict[str, object]:
        """Parameter count, network kind and observation model."""
        return {**super().describe(), "arch": self.arch, "likelihood": self.likelihood}


class CVAE(VAE):
    """Label-conditioned VAE: a label embedding joins the encoder's input and ``z``."""

    conditional = True
