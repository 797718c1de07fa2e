"""The ``[model]`` options of the diffusion (``ddpm``, ``cddpm``) and flow-matching (``fm``, ``cfm``) models.

One class for all four: a few options apply to one process only (their descriptions say so).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)


class DiffusionConfig(BaseModel):
    """The step network, label dropout, Adam, and the process of ``ddpm``/``cddpm`` or ``fm``/``cfm``."""

    model_config = ConfigDict(extra="forbid")

    arch: Literal["auto", "unet", "mlp"] = Field(
        "auto", description="auto: U-Net for square images and [C, L] signals (1-D convolutions), "
                            "MLP for vectors")
    widths: Annotated[list[int], Field(min_length=1, max_length=4)] | Literal["auto"] = Field(
        "auto", description="U-Net channels per resolution level (1 to 4), finest first; each level "
                            "after the first halves the image side (the signal length). auto: "
                            "[32, 64], and [32, 64, 128] for images of 24 px or more whose side "
                            "divides by 4 (28x28 MNIST, 32x32 CIFAR)")
    blocks: int = Field(1, ge=1, le=4, description="U-Net residual blocks per level")
    attention: bool = Field(True, description="U-Net self-attention at the lowest resolution "
                                              "(at most 1,024 positions)")
    heads: int = Field(1, ge=1, description="attention heads (must divide the lowest level's width)")
    groups: int = Field(8, ge=1, description="group-norm groups (must divide every width)")
    hidden: int = Field(256, gt=0, description="MLP width")
    layers: int = Field(3, gt=0, description="MLP residual blocks")
    embed_dim: int = Field(128, gt=0, description="timestep and label embedding size")
    data_std: float = Field(1.0, gt=0, description="vectors and signals: the network models "
                                                    "x / data_std (images are always mapped to [-1, 1])")
    label_dropout: float = Field(0.1, ge=0.0, lt=1.0,
                                 description="conditional models: share of training labels replaced "
                                             "by the null label (for classifier-free guidance)")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam beta1")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2")

    prediction: Literal["epsilon", "v"] = Field(
        "v", description="ddpm/cddpm: what the network predicts, the noise (epsilon) or "
                         "v = sqrt(abar) eps - sqrt(1 - abar) x0")
    schedule: Literal["linear", "cosine"] = Field("cosine", description="ddpm/cddpm: noise schedule abar(t)")
    train_steps: int = Field(1000, ge=2, description="ddpm/cddpm: diffusion timesteps of training")
    time_sampling: Literal["uniform", "logit_normal"] = Field(
        "uniform", description="fm/cfm: training times s in (0, 1), uniform or logit-normal (SD3)")

    @field_validator("widths", mode="wrap")
    @classmethod
    def _levels(cls, widths: object, handler: ValidatorFunctionWrapHandler) -> list[int] | Literal["auto"]:
        """One message for both forms (not one per member of the union)."""
        try:
            value: list[int] | Literal["auto"] = handler(widths)
        except ValidationError:
            value = []
        if value != "auto" and (not value or any(w <= 0 for w in value)):
            raise ValueError("expected 'auto' or 1 to 4 positive channel counts, finest first")
        return value
