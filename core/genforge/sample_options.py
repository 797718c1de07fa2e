"""Sample-time options: the ``[sampler]`` section a family declares (imports no torch).

A family registers a pydantic class with its model, ``register(..., sampler=Options)``.
Its values are chosen per run (``[sampler]`` in the run config, recorded in the
checkpoint's config.json as the run's defaults) and changed per call without touching
the checkpoint (``--set sampler.steps=20``, ``LoadedModel.sample(..., steps=20)``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genforge.errors import ConfigError
from genforge_runtime.samplers import Settings


class SamplerOptions(BaseModel):
    """The options of the shared iterative samplers; subclass it to change defaults or add fields."""

    model_config = ConfigDict(extra="forbid")

    sampler: str = Field("ddpm", description="ddpm, ddim or dpmpp_2m (diffusion); euler or heun (flow)")
    steps: int = Field(1000, ge=1, description="sampling steps")
    eta: float = Field(0.0, ge=0.0, description="DDIM: 0 deterministic, 1 ancestral-like noise")
    guidance: float = Field(0.0, ge=0.0, description="classifier-free guidance scale (0 or 1: off)")


def settings_of(options: BaseModel) -> Settings:
    """The shared samplers' settings from a family's options (sampler, steps, eta, guidance)."""
    try:
        return Settings(sampler=options.sampler, steps=options.steps,  # type: ignore[attr-defined]
                        eta=float(getattr(options, "eta", 0.0)),
                        guidance=float(getattr(options, "guidance", 0.0)))
    except AttributeError as e:
        raise ConfigError(f"{type(options).__name__}: the shared samplers need the fields sampler "
                          f"and steps ({e})") from None


def with_changes(options: BaseModel | None, changes: dict[str, Any], model: str) -> BaseModel | None:
    """``options`` with ``changes`` applied and validated (one-line ``ConfigError`` if bad)."""
    from genforge.config import validate_section

    if not changes:
        return options
    if options is None:
        raise ConfigError(f"sampler.{next(iter(changes))}: model {model!r} has no sample-time options")
    return validate_section(type(options), {**options.model_dump(), **changes}, "sampler")


def checked_for(model: Any, options: BaseModel | None) -> BaseModel | None:
    """``options`` if they suit ``model``'s sampling process (one-line ``ConfigError`` if not)."""
    process = model.sampling_process()
    if process is not None and options is not None:
        try:
            settings_of(options).check(process)
        except ValueError as e:
            raise ConfigError(f"sampler.{e}") from None
    return options
