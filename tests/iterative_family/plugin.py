"""Entry module: registers ``tinyddpm`` with its config and sample-time options (no torch)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from genforge import SamplerOptions, hookimpl


class TinyDDPMConfig(BaseModel):
    """The ``[model]`` section: network width and the noising process it trains for."""

    hidden: int = Field(64, gt=0, description="width of the MLP step network")
    train_steps: int = Field(1000, ge=2, description="diffusion timesteps")
    schedule: Literal["linear", "cosine"] = "linear"
    prediction: Literal["epsilon", "v"] = "epsilon"
    label_dropout: float = Field(0.1, ge=0.0, le=1.0, description="share of labels replaced by the "
                                 "null label in training (classifier-free guidance)")
    lr: float = 1e-3
    beta1: float = 0.9


class TinyDDPMSampling(SamplerOptions):
    """The ``[sampler]`` section: the shared samplers' options with this family's defaults."""

    sampler: str = Field("ddpm", description="ddpm, ddim or dpmpp_2m")
    steps: int = Field(1000, ge=1, description="sampling steps (at most model.train_steps)")


@hookimpl
def genforge_register_models(register: Any) -> None:
    """Register the tiny DDPM."""
    register("tinyddpm", "tests.iterative_family.model:TinyDDPM", TinyDDPMConfig, conditional=True,
             summary="a tiny conditional DDPM (MLP step network) for tests", sampler=TinyDDPMSampling,
             tiny={"hidden": 16})
