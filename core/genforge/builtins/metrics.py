"""Built-in plugin registering the metrics and feature extractors of ``genforge.metrics`` (no torch imports).

Each metric is registered with ``applies`` (a ``"module:function"`` taking the
``EvalContext``): ``genforge eval`` without ``--metrics`` runs every metric that
applies to the model and data. ``floor=False`` marks metrics with no
perfect-generator floor (a likelihood has no train-vs-held-out counterpart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    from genforge.registrars import FeatureExtractorRegistrar, MetricRegistrar

_M = "genforge.metrics"
_FEATURES = f"{_M}.feature_space:comparable"


@hookimpl
def genforge_register_metrics(register: MetricRegistrar) -> None:
    """Register ``nll``, ``fd``, ``kid``, the k-NN metrics, ``classes``, ``memorisation`` and ``modes``."""
    register("nll", f"{_M}.likelihood:nll", applies=f"{_M}.likelihood:applies", floor=False,
             summary="negative log-likelihood bounds on the held-out split (models with log_likelihood)")
    register("fd", f"{_M}.frechet:fd", applies=_FEATURES,
             summary="Fréchet distance of held-out and generated features (lower is better)")
    register("kid", f"{_M}.kid:kid", applies=_FEATURES,
             summary="kernel distance: unbiased polynomial-kernel MMD² of features (lower is better)")
    for name, what in (("precision", "share of samples near held-out data (fidelity)"),
                       ("recall", "share of held-out data near samples (diversity)"),
                       ("density", "held-out k-NN balls per sample, over k (fidelity; 1 for real data)"),
                       ("coverage", "share of held-out k-NN balls holding a sample (diversity)")):
        register(name, f"{_M}.prdc:{name}", applies=_FEATURES, summary=f"{what}; k = 5")
    register("classes", f"{_M}.classes:classes", applies=f"{_M}.classes:applies",
             summary="class accuracy (conditional models) and classes hit, by the extractor's classifier")
    register("memorisation", f"{_M}.memorisation:memorisation", applies=f"{_M}.memorisation:applies",
             summary="median nearest-training-image distance of samples / of held-out data (1: none)")
    register("modes", f"{_M}.modes:modes", applies=f"{_M}.modes:applies",
             summary="toy2d mixtures: modes captured and share of samples within 3 std of a mode")


@hookimpl
def genforge_register_feature_extractors(register: FeatureExtractorRegistrar) -> None:
    """Register the shipped digits extractor (a CNN trained on the 8x8 digits)."""
    register("digits", f"{_M}.extractor:DIGITS_WEIGHTS",
             summary="CNN classifier trained on the 8x8 digits train split (99% held-out accuracy)")
