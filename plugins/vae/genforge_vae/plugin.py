"""Entry module: registers ``vae`` and ``cvae`` (imports no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge import hookimpl
from genforge_vae.config import VAEConfig

if TYPE_CHECKING:
    from genforge import ModelRegistrar

#: Suggested run sections: binarised 8x8 digits; trains in about a minute on 2 CPU cores.
DEFAULTS = {
    "data": {"name": "digits", "size": 8},
    "trainer": {"steps": 4000, "batch_size": 64, "sample_every": 1000, "checkpoint_every": 1000},
}


@hookimpl
def genforge_register_models(register: ModelRegistrar) -> None:
    """Register the unconditional and the label-conditioned VAE."""
    register("vae", "genforge_vae.model:VAE", VAEConfig, conditional=False,
             summary="variational autoencoder (MLP / conv; Bernoulli or Gaussian)",
             defaults=DEFAULTS)
    register("cvae", "genforge_vae.model:CVAE", VAEConfig, conditional=True,
             summary="label-conditioned VAE (label joins encoder input and z)", defaults=DEFAULTS)
