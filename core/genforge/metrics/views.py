"""Views of the real and generated sets that metrics share, cached in the ``EvalContext``.

Real-data views (held-out and training features, k-NN radii) are computed once per
evaluation and shared by every seed; generated-sample views (native-resolution
pixels, features, class logits, k-NN radii, real-vs-generated distances) once per seed.
Samples are scored in the feature space ``genforge.metrics.feature_space`` picks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from genforge.errors import GenforgeError
from genforge.metrics.feature_space import data_source, extractor, feature_space, native
from genforge.metrics.spectrum import spectral_features

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext


#: Neighbours for the k-NN radii of precision, recall, density and coverage.
K_NEAREST = 5
#: Values of the training split read at a time by ``nearest_training_sample`` (128 MiB as float64).
TRAIN_VALUES = 2**24


def _embed(ctx: EvalContext, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    space = feature_space(ctx)
    if space is None:
        raise GenforgeError(f"no feature space for data source {data_source(ctx)!r}: pass "
                            "--extractor FILE (train one with `genforge features train`)")
    if space == "vector":
        return x.double().flatten(1), None
    if space == "spectrum":
        return spectral_features(x), None
    return extractor(ctx).embed(x)  # type: ignore[union-attr]


def real_embedding(ctx: EvalContext, split: str = "test") -> tuple[torch.Tensor, torch.Tensor | None]:
    """(features, class logits or None) of a real split, shared by all seeds."""
    return ctx.cached(f"embed:{split}", lambda: _embed(ctx, ctx.real(split)[0]), shared=True)


def sample_embedding(ctx: EvalContext) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(features, class logits or None) of this seed's generated samples."""
    return ctx.cached("embed:samples", lambda: _embed(ctx, ctx.samples()[0]))


def real_pixels(ctx: EvalContext, split: str) -> torch.Tensor:
    """A real split at the scored resolution, flattened to float64 ``[N, D]``."""
    return ctx.cached(f"pixels:{split}", lambda: native(ctx, ctx.real(split)[0]).double().flatten(1),
                      shared=True)


def sample_pixels(ctx: EvalContext) -> torch.Tensor:
    """This seed's samples at the scored resolution, flattened to float64 ``[N, D]``."""
    return ctx.cached("pixels:samples", lambda: native(ctx, ctx.samples()[0]).double().flatten(1))


def kth_radius(x: torch.Tensor, k: int = K_NEAREST) -> torch.Tensor:
    """Distance from each row of ``x`` to its ``k``-th nearest other row."""
    if len(x) <= k:
        raise GenforgeError(f"k-NN metrics need more than {k} points, got {len(x)}")
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # the 1st is the point itself (distance 0)


def real_radii(ctx: EvalContext) -> torch.Tensor:
    """k-NN radii of the held-out features (shared by all seeds)."""
    return ctx.cached("radii:test", lambda: kth_radius(real_embedding(ctx)[0]), shared=True)


def sample_radii(ctx: EvalContext) -> torch.Tensor:
    """k-NN radii of this seed's sample features."""
    return ctx.cached("radii:samples", lambda: kth_radius(sample_embedding(ctx)[0]))


def real_to_sample(ctx: EvalContext) -> torch.Tensor:
    """Distances ``[N_real, N_samples]`` between held-out and generated features."""
    return ctx.cached("dist:test-samples",
                      lambda: torch.cdist(real_embedding(ctx)[0], sample_embedding(ctx)[0]))


def nearest_distance(queries: torch.Tensor, reference: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Distance from each query row to its nearest reference row (chunked to bound memory)."""
    return torch.cat([torch.cdist(queries[i : i + chunk], reference).min(dim=1).values
                      for i in range(0, len(queries), chunk)])


def nearest_training_sample(ctx: EvalContext, queries: torch.Tensor) -> torch.Tensor:
    """Distance from each query row (pixels as ``real_pixels`` gives them) to its nearest training
    sample; the training split is read ``TRAIN_VALUES`` values at a time, never held whole."""
    n = len(ctx.data.train)  # type: ignore[arg-type]
    rows = max(1, TRAIN_VALUES // math.prod(ctx.data.info.shape))
    best = torch.full((len(queries),), math.inf, dtype=queries.dtype)
    for start in range(0, n, rows):
        part = native(ctx, ctx.data.tensors("train", slice(start, start + rows))[0]).double().flatten(1)
        best = torch.minimum(best, nearest_distance(queries, part))
    return best
