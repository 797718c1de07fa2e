"""``GAN`` and ``CGAN``: non-saturating GAN training with Adam on two networks."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from genforge import ConfigError, DataInfo, GenerativeModel, LabelMap
from genforge_gan.config import GANConfig
from genforge_gan.nets import (
    Discriminator,
    Generator,
    dcgan_discriminator_body,
    dcgan_generator_body,
    dcgan_init,
    mlp,
    spectral_normalise,
)


class GeneratorExport(nn.Module):
    """The exported graph: ``z`` (+ ``labels``) -> ``samples`` in the data's value range."""

    def __init__(self, generator: Generator, image: bool) -> None:
        super().__init__()
        self.generator = generator
        self.image = image

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Run the generator and map tanh output to [0, 1] for images."""
        out = self.generator(z, labels)
        return ((out + 1.0) * 0.5).clamp(0.0, 1.0) if self.image else out


class GAN(GenerativeModel):
    """Unconditional GAN: DCGAN for square images, MLP for vector data."""

    conditional = False
    ema_scope = "generator."
    config: GANConfig

    def __init__(self, config: GANConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.latent_dim = config.latent_dim
        image = data_info.kind == "image"
        arch = config.arch if config.arch != "auto" else ("dcgan" if image else "mlp")
        if arch == "dcgan" and not image:
            raise ValueError("model.arch = 'dcgan': needs image data; use 'mlp' for vectors and signals")
        k = data_info.num_classes if self.conditional else 0
        if self.conditional and k == 0:
            raise ValueError("cgan needs labelled data (the data source reports no classes)")
        if config.projection and not self.conditional:
            raise ValueError("model.projection = true: scores labels, so it needs cgan")
        emb = config.embed_dim if k else 0
        g_map = LabelMap(k, emb) if k else None
        d_map = LabelMap(k, emb) if k else None
        if arch == "dcgan":
            c, h, w = data_info.shape
            if h != w:
                raise ValueError(f"model.arch = 'dcgan': needs square images, got {h}x{w}")
            g_body = dcgan_generator_body(config.latent_dim + emb, c, h, config.ngf)
            d_body = dcgan_discriminator_body((c + emb) * config.pack, h, config.ndf,
                                              norm=not config.spectral_norm)
        else:
            dim = int(torch.Size(data_info.shape).numel())
            g_body = mlp(config.latent_dim + emb, dim, config.hidden, config.layers, nn.ReLU)
            d_body = mlp((dim + emb) * config.pack, 1, config.hidden, config.layers,
                         functools.partial(nn.LeakyReLU, 0.2))
            if image:
                g_body.append(nn.Tanh())
            g_body.append(nn.Unflatten(1, tuple(data_info.shape)))
        self.pack = config.pack
        self.generator = Generator(g_body, config.latent_dim, g_map, image=arch == "dcgan")
        last = d_body[-1]
        assert isinstance(last, (nn.Conv2d, nn.Linear))  # what the discriminator bodies end with
        width = last.in_channels if isinstance(last, nn.Conv2d) else last.in_features
        proj = nn.Embedding(k, width) if k and config.projection else None
        if proj is not None:
            nn.init.normal_(proj.weight, 0.0, 0.02)  # start near the unconditional logit
        self.discriminator = Discriminator(d_body, d_map, config.pack, flatten=arch == "mlp",
                                           projection=proj)
        self.apply(dcgan_init)
        if config.spectral_norm:
            spectral_normalise(self.discriminator)
        self._scale = image  # images live in [0, 1]; the networks see [-1, 1]

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for each network, betas (0.5, 0.999) by default."""
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        return {"discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=betas),
                "generator": torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas)}

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor | None],
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float | torch.Tensor]:
        """One discriminator update, then one generator update (non-saturating loss, packed)."""
        x, y = batch
        y = y if self.conditional else None
        keep = x.shape[0] - x.shape[0] % self.pack
        if keep == 0:
            raise ConfigError(f"model.pack = {self.pack}: larger than the batch ({x.shape[0]} "
                              "samples per process); lower it or raise trainer.batch_size")
        x, y = x[:keep], (y[:keep] if y is not None else None)
        if self._scale:
            x = x * 2.0 - 1.0
        z = torch.randn(x.shape[0], self.latent_dim, device=x.device)
        fake = self.generator(z, y)
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]

        opt_d.zero_grad(set_to_none=True)
        real_logits = self.discriminator(x, y)
        fake_logits = self.discriminator(fake.detach(), y)
        loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        self.backward_step(loss_d, opt_d)

        opt_g.zero_grad(set_to_none=True)
        gen_logits = self.discriminator(fake, y)
        loss_g = F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits))
        self.backward_step(loss_g, opt_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": torch.sigmoid(real_logits).mean().detach(),
                "d_fake": torch.sigmoid(fake_logits).mean().detach()}

    def export_module(self) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
        """The generator alone: ``z`` [, ``labels``] -> ``samples``."""
        module = GeneratorExport(self.generator, self._scale)
        z = torch.randn(2, self.latent_dim, device=self.device)
        if self.conditional:
            labels = torch.arange(2, device=self.device) % self.data_info.num_classes
            return module, (z, labels), ["z", "labels"], ["samples"]
        return module, (z,), ["z"], ["samples"]

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generator output mapped to the data's value range."""
        return GeneratorExport(self.generator, self._scale)(z, labels)


class CGAN(GAN):
    """Label-conditioned GAN: the label embedding joins ``z`` and the discriminator's input."""

    conditional = True
