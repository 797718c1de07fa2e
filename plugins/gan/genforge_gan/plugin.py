"""Entry module: registers ``gan`` and ``cgan`` (imports no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge import hookimpl
from genforge_gan.config import GANConfig

if TYPE_CHECKING:
    from genforge import ModelRegistrar

DEFAULTS = {
    "data": {"name": "digits", "size": 16},
    "trainer": {"steps": 1000, "batch_size": 64, "sample_every": 250, "checkpoint_every": 250},
}

#: On digits: a half-width DCGAN (twice the steps per second of ngf = ndf = 64) at a higher
#: learning rate, with an EMA of the generator. ``cgan`` converges in 2,000 steps (about a
#: minute on 2 CPU cores). ``gan`` needs more: with a wider discriminator (ndf = 48) it gets
#: nearer the floor in 8,000 steps than with ndf = 32 in 10,000 (FD 5.8 / 5.4 against
#: 6.2 / 5.9 for training seeds 0 / 1; see docs/results.md).
_DIGITS_MODEL = {"ngf": 32, "ndf": 32, "lr": 5e-4}
#: On toy2d: a 2-D latent (with 100 dimensions the MLP GAN collapses onto one mode), an EMA,
#: and many cheap steps: the 25-Gaussian grid gains modes slowly (16 of 25 at 10,000 steps,
#: 19 at 20,000, all 25 from 35,000; see docs/results.md).
_TOY2D = {"model": {"latent_dim": 2},
          "trainer": {"steps": 40000, "ema_decay": 0.999, "sample_every": 10000,
                      "checkpoint_every": 10000}}

GAN_DEFAULTS = {**DEFAULTS, "per_data": {
    "digits": {"model": {**_DIGITS_MODEL, "ndf": 48},
               "trainer": {"steps": 8000, "ema_decay": 0.999, "sample_every": 2000,
                           "checkpoint_every": 2000}},
    "toy2d": _TOY2D}}
#: ``cgan`` scores the label with a projection discriminator on every data source: on digits
#: class accuracy 0.98 instead of 0.976 in the same 2,000 steps (see docs/results.md).
CGAN_DEFAULTS = {**DEFAULTS, "model": {"projection": True}, "per_data": {
    "digits": {"model": _DIGITS_MODEL, "trainer": {"steps": 2000, "ema_decay": 0.995,
                                                   "sample_every": 500, "checkpoint_every": 500}},
    "toy2d": _TOY2D}}


@hookimpl
def genforge_register_models(register: ModelRegistrar) -> None:
    """Register the unconditional and the label-conditioned GAN."""
    register("gan", "genforge_gan.model:GAN", GANConfig, conditional=False,
             summary="DCGAN for images, MLP GAN for vectors", defaults=GAN_DEFAULTS)
    register("cgan", "genforge_gan.model:CGAN", GANConfig, conditional=True,
             summary="label-conditioned GAN (DCGAN / MLP)", defaults=CGAN_DEFAULTS)
