"""Default plugin registering the built-in metrics (kept free of torch imports)."""

from __future__ import annotations

from typing import Any

from genforge.hookspecs import hookimpl


@hookimpl
def genforge_register_metrics(register: Any) -> None:
    """Register ``nll``."""
    register("nll", "genforge.metrics.likelihood:nll",
             summary="negative log-likelihood bounds on the held-out split (models with log_likelihood)")
