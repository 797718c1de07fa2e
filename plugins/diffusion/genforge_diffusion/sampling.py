"""The ``[sampler]`` options of the family: the shared samplers' options with its defaults (no torch).

Chosen at sample time (``--set sampler.steps=20``), recorded with a run as its defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from genforge import SamplerOptions


class DiffusionSampling(SamplerOptions):
    """``ddpm``: which diffusion sampler and how many of the training timesteps it visits."""

    sampler: Literal["ddpm", "ddim", "dpmpp_2m"] = Field(
        "ddpm", description="ddpm (ancestral), ddim (eta) or dpmpp_2m (DPM-Solver++(2M))")
    steps: int = Field(50, ge=1, description="sampling steps (at most model.train_steps)")


class GuidedDiffusionSampling(DiffusionSampling):
    """``cddpm``: as ``ddpm``, with classifier-free guidance on by default."""

    guidance: float = Field(1.1, ge=0.0, description="classifier-free guidance scale (0 or 1: off)")


class FlowSampling(SamplerOptions):
    """``fm``: which ODE solver and how many steps from noise (s = 1) to data (s = 0)."""

    sampler: Literal["euler", "heun"] = Field(
        "heun", description="euler (one network call per step) or heun (two; one on the last)")
    steps: int = Field(10, ge=1, description="sampling steps")


class GuidedFlowSampling(FlowSampling):
    """``cfm``: as ``fm``, with classifier-free guidance on by default."""

    guidance: float = Field(1.1, ge=0.0, description="classifier-free guidance scale (0 or 1: off)")
