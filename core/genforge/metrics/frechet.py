"""The ``fd`` metric: Fréchet distance between Gaussians fitted to real and generated features."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from genforge.metrics import views

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext


def _psd_sqrt(m: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance of ``[N, D]`` and ``[M, D]`` feature sets, in float64.

    ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2)``: the
    trace of the matrix square root comes from symmetric eigendecompositions only.
    """
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.atleast_2d(torch.cov(a.T)), torch.atleast_2d(torch.cov(b.T))
    root = _psd_sqrt(cov_a)
    cross = torch.linalg.eigvalsh(root @ cov_b @ root).clamp(min=0).sqrt().sum()
    value = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return max(float(value), 0.0)


def fd(ctx: EvalContext) -> dict[str, float]:
    """Fréchet distance between held-out and generated features (lower is better)."""
    return {"fd": frechet_distance(views.real_embedding(ctx)[0], views.sample_embedding(ctx)[0])}
