"""The ``nll`` metric: held-out negative log-likelihood from a model's ``log_likelihood``."""

from __future__ import annotations

import torch

from genforge.capabilities import SupportsLikelihood, supports
from genforge.errors import GenforgeError
from genforge.metrics.context import EvalContext


def applies(ctx: EvalContext) -> bool:
    """The model has ``log_likelihood`` and the data a held-out split."""
    model = ctx.loaded.model if ctx.loaded is not None else None
    return supports(model, SupportsLikelihood) and ctx.data.test is not None


def nll(ctx: EvalContext) -> dict[str, float]:
    """Mean negative of each bound ``log_likelihood`` returns, in nats per example.

    ``log_likelihood(x, labels, k=K, generator=G)`` returns per-example log-likelihoods
    or lower bounds (a VAE: ``elbo`` and ``iwae``); this reports ``nll_elbo``,
    ``nll_iwae`` and so on, averaged over the held-out split.
    """
    if ctx.loaded is None:
        raise GenforgeError("metric nll: needs a model (it scores the model, not samples)")
    model = ctx.loaded.model
    if not isinstance(model, SupportsLikelihood):
        raise GenforgeError(f"metric nll: model {ctx.loaded.config.run.model.name!r} has no "
                            "log_likelihood (likelihood models only)")
    x, y = ctx.real("test")
    out = model.log_likelihood(x, y if model.conditional else None, k=ctx.options.get("k", 100),
                               generator=ctx.generator())
    return {f"nll_{key}": -float(torch.as_tensor(v, dtype=torch.float64).mean()) for key, v in out.items()}
