"""The ``memorisation`` metric: are samples closer to training images than new real data is?

``memorisation_ratio`` = median over samples of the distance to the nearest training
image, divided by the same median over the held-out images (pixels at the scored
resolution, Euclidean). About 1 for a generator that draws new data from the data's
distribution, 0 for one that copies its training images; well below 1 is a warning.
The floor (a perfect generator) is 1 by definition: its samples are new real data,
which the held-out split stands for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge.metrics import views

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext


def applies(ctx: EvalContext) -> bool:
    """The data has a held-out and an in-memory training split (not a streamed one: ``shards``)."""
    from genforge.data.base import TensorData

    return ctx.data.test is not None and isinstance(ctx.data.train, TensorData)


def memorisation(ctx: EvalContext) -> dict[str, float]:
    """Median nearest-training-image distance of samples over that of held-out images."""
    held_out = ctx.cached("nearest-train:test",
                          lambda: views.nearest_training_sample(ctx, views.real_pixels(ctx, "test")).median(),
                          shared=True)
    if ctx.floor:
        return {"memorisation_ratio": 1.0}
    samples = views.nearest_training_sample(ctx, views.sample_pixels(ctx)).median()
    return {"memorisation_ratio": float(samples / held_out.clamp(min=1e-12))}
