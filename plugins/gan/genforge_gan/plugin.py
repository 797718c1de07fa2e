"""Entry module: registers ``gan`` and ``cgan`` (imports no torch)."""

from __future__ import annotations

from typing import Any

from genforge import hookimpl
from genforge_gan.config import GANConfig

DEFAULTS = {
    "data": {"name": "digits", "size": 16},
    "trainer": {"steps": 1000, "batch_size": 64, "sample_every": 250, "checkpoint_every": 250},
}


@hookimpl
def genforge_register_models(register: Any) -> None:
    """Register the unconditional and the label-conditioned GAN."""
    register("gan", "genforge_gan.model:GAN", GANConfig, conditional=False,
             summary="DCGAN for images, MLP GAN for vectors", defaults=DEFAULTS)
    register("cgan", "genforge_gan.model:CGAN", GANConfig, conditional=True,
             summary="label-conditioned GAN (DCGAN / MLP)", defaults=DEFAULTS)
