"""Entry module: registers ``flow`` (imports no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge import hookimpl
from genforge_flow.config import FlowConfig

if TYPE_CHECKING:
    from genforge import ModelRegistrar

#: Suggested run sections: 8x8 digits, a few thousand steps (about a minute on 2 CPU cores);
#: the digits' pixels are k/16, so 17 levels there (and no dropout on the plentiful 2-D points).
DEFAULTS = {
    "data": {"name": "digits", "size": 8},
    "trainer": {"steps": 4000, "batch_size": 64, "sample_every": 1000, "checkpoint_every": 1000},
    "per_data": {"digits": {"model": {"levels": 17}}, "toy2d": {"model": {"dropout": 0.0}}},
}

#: What genforge's conformance kit builds: two small couplings.
TINY = {"coupling_layers": 2, "hidden": 16, "depth": 1}


@hookimpl
def genforge_register_models(register: ModelRegistrar) -> None:
    """Register the normalizing flow."""
    register("flow", "genforge_flow.model:Flow", FlowConfig, conditional=False,
             summary="RealNVP-style flow (affine couplings) with exact log-likelihood",
             defaults=DEFAULTS, tiny=TINY)
