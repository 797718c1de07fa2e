"""``GAN`` and ``CGAN``: adversarial training with Adam on two networks.

A training step runs ``model.d_steps`` discriminator updates, then one generator update,
under the objective ``model.loss``; the discriminator's loss adds the penalties switched on
(R1, R2, the gradient penalty, LeCam), and every image it sees passes through DiffAugment
when ``model.diffaugment`` names transforms. Randomness comes from torch's global RNG, which
the trainer seeds and checkpoints, so a resumed run repeats an uninterrupted one.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from genforge import ConfigError, DataInfo, GenerativeModel, LabelMap
from genforge_gan.config import GANConfig
from genforge_gan.diffaugment import diff_augment
from genforge_gan.nets import (
    Discriminator,
    Generator,
    dcgan_discriminator_body,
    dcgan_generator_body,
    dcgan_init,
    mlp,
    spectral_normalise,
)
from genforge_gan.objectives import (
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    input_gradients,
    interpolate,
    lecam_penalty,
    squared_gradient_norm,
)
from genforge_gan.resnet import ResNetGenerator, resnet_discriminator_body

#: decay of LeCam's moving averages of the discriminator's scores (Tseng et al., 2021)
LECAM_DECAY = 0.99


class GeneratorExport(nn.Module):
    """The exported graph: ``z`` (+ ``labels``) -> ``samples`` in the data's value range."""

    def __init__(self, generator: nn.Module, image: bool) -> None:
        super().__init__()
        self.generator = generator
        self.image = image

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Run the generator and map tanh output to [0, 1] for images."""
        out = self.generator(z, labels)
        return ((out + 1.0) * 0.5).clamp(0.0, 1.0) if self.image else out


def _check_options(config: GANConfig, arch: str, image: bool, conditional: bool) -> None:
    """Refuse, in one line naming the option, what this family cannot train."""
    if arch in ("dcgan", "resnet") and not image:
        raise ValueError(f"model.arch = {arch!r}: needs image data; use 'mlp' for vectors and signals")
    if config.projection and not conditional:
        raise ValueError("model.projection = true: scores labels, so it needs cgan")
    if config.diffaugment and not image:
        raise ValueError(f"model.diffaugment = {config.diffaugment!r}: augments images only; "
                         "set it to '' for vectors and signals")
    if config.loss == "wasserstein" and config.gp == 0 and not config.spectral_norm:
        raise ValueError("model.loss = 'wasserstein': the critic must be Lipschitz; set model.gp "
                         "(10 in WGAN-GP) or model.spectral_norm = true")


def _networks(config: GANConfig, info: DataInfo, arch: str, k: int) -> tuple[nn.Module, Discriminator]:
    """The generator and the discriminator for ``arch`` (``k`` classes, 0: unconditional).

    Modules are built in the order of earlier releases, so a seed still gives their weights.
    """
    emb = config.embed_dim if k else 0
    g_map = LabelMap(k, emb) if k else None
    d_map = LabelMap(k, emb) if k else None  # resnet's generator takes labels through conditional BatchNorm
    d_in = (info.shape[0] + emb) * config.pack
    generator: nn.Module
    if arch in ("dcgan", "resnet"):
        c, h, w = info.shape
        if h != w:
            raise ValueError(f"model.arch = {arch!r}: needs square images, got {h}x{w}")
        if arch == "resnet":
            generator = ResNetGenerator(config.latent_dim, c, h, config.ngf, k)
            d_body = resnet_discriminator_body(d_in, h, config.ndf)
        else:
            generator = Generator(dcgan_generator_body(config.latent_dim + emb, c, h, config.ngf),
                                  config.latent_dim, g_map, image=True)
            d_body = dcgan_discriminator_body(d_in, h, config.ndf, norm=not config.spectral_norm)
    else:
        dim = int(torch.Size(info.shape).numel())
        g_body = mlp(config.latent_dim + emb, dim, config.hidden, config.layers, nn.ReLU)
        d_body = mlp((dim + emb) * config.pack, 1, config.hidden, config.layers,
                     functools.partial(nn.LeakyReLU, 0.2))
        if info.kind == "image":
            g_body.append(nn.Tanh())
        g_body.append(nn.Unflatten(1, tuple(info.shape)))
        generator = Generator(g_body, config.latent_dim, g_map, image=False)
    last = d_body[-1]
    assert isinstance(last, (nn.Conv2d, nn.Linear))  # what the discriminator bodies end with
    width = last.in_channels if isinstance(last, nn.Conv2d) else last.in_features
    proj = nn.Embedding(k, width) if k and config.projection else None
    if proj is not None:
        nn.init.normal_(proj.weight, 0.0, 0.02)  # start near the unconditional logit
    return generator, Discriminator(d_body, d_map, config.pack, flatten=arch == "mlp", projection=proj)


class GAN(GenerativeModel):
    """Unconditional GAN: DCGAN or ResNet for square images, MLP for vector data."""

    conditional = False
    ema_scope = "generator."
    config: GANConfig
    d_updates: torch.Tensor
    lecam_real: torch.Tensor
    lecam_fake: torch.Tensor

    def __init__(self, config: GANConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        self.latent_dim = config.latent_dim
        image = data_info.kind == "image"
        arch = config.arch if config.arch != "auto" else ("dcgan" if image else "mlp")
        k = data_info.num_classes if self.conditional else 0
        if self.conditional and k == 0:
            raise ValueError("cgan needs labelled data (the data source reports no classes)")
        _check_options(config, arch, image, self.conditional)
        self.pack = config.pack
        self.generator, self.discriminator = _networks(config, data_info, arch, k)
        if arch != "resnet":  # the residual networks initialise themselves
            self.apply(dcgan_init)
        if config.spectral_norm:
            spectral_normalise(self.discriminator)
        self._scale = image  # images live in [0, 1]; the networks see [-1, 1]
        self.policy = config.diffaugment_policy()
        # training state beyond the weights, saved with them so that resuming is exact
        if config.r1 or config.r2:  # discriminator updates so far: when lazy R1 and R2 are due
            self.register_buffer("d_updates", torch.zeros((), dtype=torch.long))
        if config.lecam:  # LeCam's anchors: moving averages of the scores of reals and fakes
            self.register_buffer("lecam_real", torch.zeros(()))
            self.register_buffer("lecam_fake", torch.zeros(()))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for each network, at ``lr_d`` and ``lr_g`` (else ``lr``), betas (0.5, 0.999) by default."""
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        lr_d = cfg.lr_d if cfg.lr_d is not None else cfg.lr
        lr_g = cfg.lr_g if cfg.lr_g is not None else cfg.lr
        return {"discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas),
                "generator": torch.optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas)}

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor | None],
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float | torch.Tensor]:
        """``model.d_steps`` discriminator updates on the batch (new noise each), then a generator update."""
        x, y = batch
        y = y if self.conditional else None
        keep = x.shape[0] - x.shape[0] % self.pack
        if keep == 0:
            raise ConfigError(f"model.pack = {self.pack}: larger than the batch ({x.shape[0]} "
                              "samples per process); lower it or raise trainer.batch_size")
        x, y = x[:keep], (y[:keep] if y is not None else None)
        if self._scale:
            x = x * 2.0 - 1.0
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        for i in range(self.config.d_steps):
            z = torch.randn(x.shape[0], self.latent_dim, device=x.device)
            with torch.set_grad_enabled(i == self.config.d_steps - 1):  # the last fakes train G too
                fake = self.generator(z, y)
            loss_d, real_scores, fake_scores = self._discriminator_step(x, fake.detach(), y, opt_d)

        opt_g.zero_grad(set_to_none=True)
        loss_g = generator_loss(self.config.loss, self.discriminator(self.augment(fake), y))
        self.backward_step(loss_g, opt_g)
        read = torch.sigmoid if self.config.loss == "nonsaturating" else torch.as_tensor
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": read(real_scores.detach()).mean(), "d_fake": read(fake_scores.detach()).mean()}

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` as the discriminator sees them: through DiffAugment when it is on."""
        return diff_augment(images, self.policy)

    def _discriminator_step(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
                            opt: torch.optim.Optimizer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One discriminator update: objective plus penalties; returns (loss, scores of reals, of fakes)."""
        cfg = self.config
        opt.zero_grad(set_to_none=True)
        due = (cfg.r1 or cfg.r2) and int(self.d_updates) % cfg.reg_every == 0  # R1, R2 (lazy)
        real_in, fake_in = self.augment(real).detach(), self.augment(fake).detach()
        real_in.requires_grad_(bool(due and cfg.r1))
        fake_in.requires_grad_(bool(due and cfg.r2))
        real_scores = self.discriminator(real_in, labels)
        fake_scores = self.discriminator(fake_in, labels)
        loss = discriminator_loss(cfg.loss, real_scores, fake_scores)
        scaler = self.grad_scalers.get(id(opt))
        scale = float(scaler.get_scale()) if scaler is not None else 1.0
        if due and cfg.r1:
            grad = input_gradients(real_scores, real_in, scale)
            loss = loss + 0.5 * cfg.r1 * cfg.reg_every * squared_gradient_norm(grad, real_scores.numel())
        if due and cfg.r2:
            grad = input_gradients(fake_scores, fake_in, scale)
            loss = loss + 0.5 * cfg.r2 * cfg.reg_every * squared_gradient_norm(grad, fake_scores.numel())
        if cfg.gp:
            mixed = interpolate(real_in.detach(), fake_in.detach(), self.pack).requires_grad_(True)
            mixed_scores = self.discriminator(mixed, labels)
            grad = input_gradients(mixed_scores, mixed, scale)
            loss = loss + cfg.gp * gradient_penalty(grad, mixed_scores.numel())
        if cfg.lecam:
            with torch.no_grad():
                self.lecam_real.lerp_(real_scores.float().mean(), 1.0 - LECAM_DECAY)
                self.lecam_fake.lerp_(fake_scores.float().mean(), 1.0 - LECAM_DECAY)
            loss = loss + cfg.lecam * lecam_penalty(real_scores, fake_scores, self.lecam_real,
                                                    self.lecam_fake)
        self.backward_step(loss, opt)
        if cfg.r1 or cfg.r2:
            self.d_updates += 1
        return loss, real_scores, fake_scores

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
    """Label-conditioned GAN: the label embedding joins the discriminator's input and ``z`` (the
    ResNet generator takes labels through conditional BatchNorm instead)."""

    conditional = True
