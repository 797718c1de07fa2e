"""The ``[model]`` options of ``vae`` and ``cvae``."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)


class VAEConfig(BaseModel):
    """VAE options; the defaults train a good model on 8x8 digits in about a minute on CPU."""

    model_config = ConfigDict(extra="forbid")

    arch: Literal["auto", "conv", "mlp"] = Field(
        "auto", description="auto: MLP for vectors and images up to 16x16 pixels, conv above and "
                            "for [C, L] signals (1-D convolutions) whose length halves to >= 4")
    latent_dim: int | Literal["auto"] = Field(
        "auto", description="size of the latent z (standard-normal prior); auto: 16, and 64 for "
                            "colour images (32x32 CIFAR)")
    hidden: int = Field(256, gt=0, description="MLP hidden width (conv: width of the dense layer)")
    layers: int = Field(2, gt=0, description="MLP hidden layers in the encoder and the decoder")
    width: int = Field(32, gt=0, description="conv: channels after the first stride-2 conv "
                                             "(doubled at each further one up to 8x; at most 4 "
                                             "stages for images, 8 for signals)")
    embed_dim: int = Field(16, gt=0, description="label embedding size (cvae: joined to the "
                                                 "encoder's input and to z)")
    likelihood: Literal["auto", "bernoulli", "bernoulli-continuous", "gaussian"] = Field(
        "auto", description=(
            "observation model p(x|z). auto: bernoulli for grey images, bernoulli-continuous for "
            "colour ones, gaussian for vectors and signals. "
            "bernoulli: pixels binarised at half the range (x >= 0.5), a true likelihood of "
            "the binarised data. bernoulli-continuous: binary cross-entropy on the [0, 1] "
            "values as they are; NOT a true likelihood (the Bernoulli mass is not normalised "
            "over [0, 1]), so its ELBO/IWAE values are not comparable log-likelihoods. "
            "gaussian: diagonal normal around the decoder mean"))
    gaussian_variance: Literal["learned", "fixed"] = Field(
        "learned", description="gaussian: one learned std per data dimension (shared over "
                               "examples, kept >= 1e-3), or the fixed gaussian_std")
    gaussian_std: float = Field(0.1, gt=0, description="gaussian: the fixed std, or the "
                                                       "starting value of the learned one")
    beta: float = Field(1.0, ge=0, description="weight of the KL term (beta-VAE; 1: the ELBO)")
    kl_warmup_steps: int = Field(0, ge=0, description="ramp the KL weight linearly from 0 to "
                                                      "beta over this many steps (0: off)")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate; 1e-3 suits VAEs (smooth "
                                              "objective, unlike GANs' 2e-4)")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam beta1 (PyTorch default)")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2 (PyTorch default)")

    @field_validator("latent_dim", mode="wrap")
    @classmethod
    def _size(cls, size: object, handler: ValidatorFunctionWrapHandler) -> int | Literal["auto"]:
        """One message for both forms (not one per member of the union)."""
        try:
            value: int | Literal["auto"] = handler(size)
        except ValidationError:
            value = 0
        if value != "auto" and value <= 0:
            raise ValueError("expected 'auto' or a positive integer")
        return value
