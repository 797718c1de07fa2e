"""Views of the real and generated sets that metrics share, cached in the ``EvalContext``.

Real-data views (held-out and training features, k-NN radii) are computed once per
evaluation and shared by every seed; generated-sample views (native-resolution
pixels, features, class logits, k-NN radii, real-vs-generated distances) once per seed.
Images are scored at the feature extractor's resolution (the data's native one):
larger samples are area-averaged down to it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from genforge.errors import GenforgeError
from genforge.metrics.extractor import FeatureExtractor, as_extractor, registered_extractor

if TYPE_CHECKING:
    from genforge.evaluate import EvalContext

#: Neighbours for the k-NN radii of precision, recall, density and coverage.
K_NEAREST = 5


def data_source(ctx: EvalContext) -> str:
    """Name of the data source the model was trained on (``digits``, ``toy2d``, ...)."""
    if ctx.loaded is not None:
        return ctx.loaded.config.run.data.name
    return str(ctx.options.get("data_source") or ctx.data.info.name)


def extractor(ctx: EvalContext) -> FeatureExtractor | None:
    """The feature extractor for image data: ``options["extractor"]`` or the one registered for the source."""
    def find() -> FeatureExtractor | None:
        if ctx.data.info.kind != "image":
            return None
        given = ctx.options.get("extractor")
        if given:
            ext = as_extractor(given)
        else:
            from genforge.plugins import default_plugins

            plugins = ctx.shared.get("plugins") or default_plugins()
            ext = registered_extractor(data_source(ctx), plugins)
            if ext is None:
                return None
        c, h, w = ctx.data.info.shape
        if c != ext.channels or min(h, w) < ext.size:
            if given:
                raise GenforgeError(f"feature extractor {ext.name!r} takes {ext.channels}x{ext.size}x"
                                    f"{ext.size} images; the data is {c}x{h}x{w}")
            return None
        return ext

    return ctx.cached("extractor", find, shared=True)


def feature_space(ctx: EvalContext) -> str | None:
    """``"vector"`` (raw coordinates), ``"extractor"`` (CNN features) or None (no feature space)."""
    if ctx.data.info.kind == "vector":
        return "vector"
    return "extractor" if extractor(ctx) is not None else None


def comparable(ctx: EvalContext) -> bool:
    """True when there is a held-out split and a feature space to compare samples with it in."""
    return ctx.data.test is not None and feature_space(ctx) is not None


def scored_shape(ctx: EvalContext) -> tuple[int, ...]:
    """Shape of one sample as the metrics see it (images at the extractor's resolution)."""
    ext = extractor(ctx)
    if ext is None:
        return tuple(ctx.data.info.shape)
    return (ext.channels, ext.size, ext.size)


def native(ctx: EvalContext, x: torch.Tensor) -> torch.Tensor:
    """Samples at the scored resolution (area-averaged images; vectors unchanged)."""
    ext = extractor(ctx)
    return ext.native(x) if ext is not None else x.float()


def _embed(ctx: EvalContext, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    space = feature_space(ctx)
    if space is None:
        raise GenforgeError(f"no feature space for data source {data_source(ctx)!r}: pass "
                            "--extractor FILE (train one with `genforge features train`)")
    if space == "vector":
        return x.double().flatten(1), None
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


def classifies(ctx: EvalContext) -> bool:
    """True when the extractor's head predicts exactly the data's classes."""
    ext = extractor(ctx)
    k = ctx.data.info.num_classes
    return (ext is not None and ext.meta.get("objective") == "classes" and k >= 2
            and len(ext.class_names) == k)


def summary(ctx: EvalContext) -> dict[str, Any]:
    """What a table needs to say how the metrics were computed."""
    ext = extractor(ctx)
    return {"extractor": ext.name if ext is not None else None,
            "feature_space": feature_space(ctx), "scored_shape": list(scored_shape(ctx))}
