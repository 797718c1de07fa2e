"""Where metrics compare samples: the raw vectors, a feature extractor's space (images), or
the signals' spectra (``genforge.metrics.spectrum``).

The extractor is ``options["extractor"]`` or the one a plugin registered for the data
source, looked up once per evaluation. Images are scored at the extractor's
resolution (the data's native one): larger samples are area-averaged down to it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from genforge.errors import GenforgeError
from genforge.metrics import spectrum
from genforge.metrics.extractor import FeatureExtractor, as_extractor, registered_extractor
from genforge.plugins import split_name

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext


def data_source(ctx: EvalContext) -> str:
    """Name of the data source the model was trained on (``digits``, ``toy2d``, ...; never ``DIST:NAME``)."""
    if ctx.loaded is not None:
        return split_name(ctx.loaded.config.run.data.name)[1]
    return str(ctx.options.get("data_source") or ctx.data.info.name)


def extractor(ctx: EvalContext) -> FeatureExtractor | None:
    """The feature extractor for image data: ``options["extractor"]`` or the one registered for the source."""
    def find() -> FeatureExtractor | None:
        if ctx.data.info.kind != "image":
            return None
        given = ctx.options.get("extractor")
        if given:
            ext: FeatureExtractor | None = as_extractor(given)
        else:
            from genforge.plugins import default_plugins

            ext = registered_extractor(data_source(ctx), ctx.plugins or default_plugins())
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
    """``"vector"`` (raw coordinates), ``"spectrum"`` (signals), ``"extractor"`` (CNN features) or None."""
    kind = ctx.data.info.kind
    if kind == "vector":
        return "vector"
    if kind == "signal":
        return "spectrum"
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


def classifies(ctx: EvalContext) -> bool:
    """True when the extractor's head predicts exactly the data's classes."""
    ext = extractor(ctx)
    k = ctx.data.info.num_classes
    return (ext is not None and ext.meta.get("objective") == "classes" and k >= 2
            and len(ext.class_names) == k)


def summary(ctx: EvalContext) -> dict[str, object]:
    """What a table needs to say how the metrics were computed."""
    ext = extractor(ctx)
    space = feature_space(ctx)
    bands = {"bands": spectrum.bands(ctx.data.info.shape[-1])} if space == "spectrum" else {}
    return {"extractor": ext.name if ext is not None else None,
            "feature_space": space, "scored_shape": list(scored_shape(ctx)), **bands}
