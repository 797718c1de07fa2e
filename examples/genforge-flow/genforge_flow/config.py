"""The ``[model]`` options of ``flow``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FlowConfig(BaseModel):
    """Flow options; the defaults suit 8x8 digits and 2-D toy data."""

    model_config = ConfigDict(extra="forbid")

    coupling_layers: int = Field(8, gt=0, description="affine coupling layers; their masks "
                                 "alternate, so every dimension is transformed by every other one")
    hidden: int = Field(256, gt=0, description="width of each coupling's scale/shift network")
    depth: int = Field(2, gt=0, description="hidden layers of each coupling's network")
    dropout: float = Field(0.4, ge=0, lt=1, description="dropout in the coupling networks while "
                           "training (small data sets such as digits overfit badly without it)")
    scale_bound: float = Field(2.0, gt=0, description="log-scales are soft-clamped to (-b, b) "
                               "as b * tanh(s / b), which keeps training stable")
    levels: int = Field(256, ge=2, description="images: pixel levels for uniform dequantization "
                        "(256 for 8-bit images; 17 for scikit-learn's digits, whose pixels are k/16)")
    logit_alpha: float = Field(0.01, gt=0, lt=0.5, description="images: dequantized pixels y in "
                               "[0, 1) are squeezed to alpha + (1 - 2 alpha) y before the logit")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam beta1")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2")
