"""The ``modes`` metric for Gaussian-mixture toy data (``toy2d``: 8gaussians, 25gaussians).

A sample is high quality when it lies within 3 standard deviations of its nearest
mode centre. ``high_quality`` is the share of such samples; ``modes_captured``
counts the modes that receive at least 0.8% of all samples as high-quality samples
(20 of every 2,500: the rule of PacGAN, Lin et al. 2018).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from genforge.metrics import feature_space

if TYPE_CHECKING:
    from genforge.metrics.context import EvalContext

#: Share of all samples a mode must receive as high-quality samples to count as captured.
CAPTURE_SHARE = 20 / 2500


def _mixture(ctx: EvalContext) -> tuple[list[tuple[float, float]], float] | None:
    """(mode centres, per-mode std) of a toy2d mixture, or None for other data."""
    from genforge.data.toy2d import DEFAULT_STDS, Toy2DConfig, mode_centers

    if feature_space.data_source(ctx) != "toy2d" and ctx.loaded is not None:
        return None
    config = ctx.loaded.config.data if ctx.loaded is not None else None
    if config is not None and not isinstance(config, Toy2DConfig):
        return None
    dataset = config.dataset if config is not None else ctx.data.info.name
    if dataset not in ("8gaussians", "25gaussians"):
        return None
    std = config.std if config is not None else ctx.options.get("std")
    return mode_centers(dataset), DEFAULT_STDS[dataset] if std is None else float(std)


def applies(ctx: EvalContext) -> bool:
    """The data is a toy2d Gaussian mixture."""
    return _mixture(ctx) is not None


def modes(ctx: EvalContext) -> dict[str, float]:
    """Modes captured and the share of high-quality samples (within 3 std of a mode)."""
    mixture = _mixture(ctx)
    if mixture is None:
        from genforge.errors import GenforgeError

        raise GenforgeError("metric modes: needs toy2d Gaussian-mixture data (8gaussians, 25gaussians)")
    centers, std = mixture
    x = ctx.samples()[0].double().flatten(1)
    d = torch.cdist(x, torch.tensor(centers, dtype=torch.float64))
    nearest, which = d.min(dim=1)
    good = nearest <= 3 * std
    counts = torch.bincount(which[good], minlength=len(centers))
    captured = int((counts >= CAPTURE_SHARE * len(x)).sum())
    return {"modes_captured": float(captured), "high_quality": float(good.double().mean())}
