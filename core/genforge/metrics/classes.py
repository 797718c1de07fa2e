"""The ``classes`` metric: what the extractor's classifier recognises in the samples.

- ``class_accuracy`` (conditional models): share of samples classified as the class
  they were generated for;
- ``classes_hit``: classes that get at least half of what a perfect generator gives
  them: for a conditional model, classes recognised in at least half of their samples;
  otherwise, classes predicted for at least half of their fair share (``n / K / 2``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from genforge.metrics import feature_space, views

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext


def applies(ctx: EvalContext) -> bool:
    """The data has classes and the extractor's head predicts exactly those classes."""
    return feature_space.classifies(ctx)


def classes(ctx: EvalContext) -> dict[str, float]:
    """Class accuracy (conditional models) and the number of classes hit."""
    if not feature_space.classifies(ctx):
        from genforge.errors import GenforgeError

        raise GenforgeError("metric classes: needs labelled data and a feature extractor trained to "
                            "classify its classes")
    k = ctx.data.info.num_classes
    logits = views.sample_embedding(ctx)[1]
    predicted = logits.argmax(dim=1)  # type: ignore[union-attr]
    labels = ctx.samples()[1]
    if ctx.conditional and labels is not None:
        correct = (predicted == labels).double()
        per_class = torch.zeros(k, dtype=torch.float64).index_add_(0, labels, correct)
        counts = torch.bincount(labels, minlength=k).double()
        rate = per_class / counts.clamp(min=1)
        hit = int(((rate >= 0.5) & (counts > 0)).sum())
        return {"class_accuracy": float(correct.mean()), "classes_hit": float(hit)}
    counts = torch.bincount(predicted, minlength=k).double()
    return {"classes_hit": float((counts >= 0.5 * len(predicted) / k).sum())}
