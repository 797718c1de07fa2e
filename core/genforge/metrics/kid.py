"""The ``kid`` metric: kernel distance (unbiased MMD² with a cubic polynomial kernel)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from genforge.metrics import views

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext

def polynomial_mmd2(a: torch.Tensor, b: torch.Tensor) -> float:
    """Unbiased MMD² of ``[N, D]`` and ``[M, D]`` with the kernel ``(x.y / D + 1)^3``, in float64."""
    a, b = a.double(), b.double()
    d = a.shape[1]
    kaa = (a @ a.T / d + 1) ** 3
    kbb = (b @ b.T / d + 1) ** 3
    kab = (a @ b.T / d + 1) ** 3
    m, n = len(a), len(b)
    same_a = (kaa.sum() - kaa.diagonal().sum()) / (m * (m - 1))
    same_b = (kbb.sum() - kbb.diagonal().sum()) / (n * (n - 1))
    return float(same_a + same_b - 2 * kab.mean())


def kid(ctx: EvalContext) -> dict[str, float]:
    """Kernel inception-style distance between held-out and generated features (lower is better)."""
    return {"kid": polynomial_mmd2(views.real_embedding(ctx)[0], views.sample_embedding(ctx)[0])}
