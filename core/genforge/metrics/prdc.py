"""``precision``, ``recall``, ``density`` and ``coverage``: k-NN manifold metrics (k = 5).

Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative models".
Each real (held-out) feature vector owns a ball reaching its 5th nearest real
neighbour; each generated one, its 5th nearest generated neighbour.

- precision: share of generated samples inside at least one real ball;
- recall: share of real samples inside at least one generated ball;
- density: real balls containing each generated sample, averaged and divided by k;
- coverage: share of real balls that contain at least one generated sample.

The four share the radii and the real-vs-generated distances through the context cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge.metrics import views

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext


def precision(ctx: EvalContext) -> dict[str, float]:
    """Share of generated samples within the k-NN ball of some held-out sample (fidelity)."""
    inside = views.real_to_sample(ctx) <= views.real_radii(ctx)[:, None]
    return {"precision": float(inside.any(dim=0).double().mean())}


def recall(ctx: EvalContext) -> dict[str, float]:
    """Share of held-out samples within the k-NN ball of some generated sample (diversity)."""
    inside = views.real_to_sample(ctx) <= views.sample_radii(ctx)[None, :]
    return {"recall": float(inside.any(dim=1).double().mean())}


def density(ctx: EvalContext) -> dict[str, float]:
    """Mean count of held-out k-NN balls holding a generated sample, over k (1 for real data)."""
    inside = views.real_to_sample(ctx) <= views.real_radii(ctx)[:, None]
    return {"density": float(inside.double().sum(dim=0).mean()) / views.K_NEAREST}


def coverage(ctx: EvalContext) -> dict[str, float]:
    """Share of held-out samples whose k-NN ball holds at least one generated sample."""
    nearest = views.real_to_sample(ctx).min(dim=1).values
    return {"coverage": float((nearest <= views.real_radii(ctx)).double().mean())}
