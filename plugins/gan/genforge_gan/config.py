"""The ``[model]`` options of ``gan`` and ``cgan``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class GANConfig(BaseModel):
    """GAN options; defaults follow DCGAN (Radford et al., 2015)."""

    model_config = ConfigDict(extra="forbid")

    arch: Literal["auto", "dcgan", "mlp"] = Field(
        "auto", description="auto: DCGAN for images, MLP for vectors and signals")
    latent_dim: int = Field(100, gt=0, description="size of the noise vector z (nz)")
    ngf: int = Field(64, gt=0, description="generator width at the last conv layer")
    ndf: int = Field(64, gt=0, description="discriminator width at the first conv layer")
    hidden: int = Field(256, gt=0, description="MLP hidden width")
    layers: int = Field(3, gt=0, description="MLP hidden layers")
    pack: int = Field(1, gt=0, description="samples the discriminator judges jointly "
                                           "(PacGAN; 1: off); batches are trimmed to a multiple")
    projection: bool = Field(False, description="cgan: add a projection of the label onto the "
                                                "discriminator's last features (Miyato & Koyama)")
    spectral_norm: bool = Field(False, description="spectral normalisation in the discriminator "
                                                   "(in place of its BatchNorm)")
    embed_dim: int = Field(16, gt=0, description="label embedding size (cgan)")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate for both networks")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2")
