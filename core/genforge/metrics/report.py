"""Plain-text and markdown tables of evaluation results (no torch: used by the CLI and benchmarks)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genforge.evaluate import Result, Summary

#: Which way is better for each value a built-in metric returns.
BETTER: dict[str, str] = {
    "fd": "lower", "kid": "lower", "precision": "higher", "recall": "higher", "density": "~1",
    "coverage": "higher", "class_accuracy": "higher", "classes_hit": "higher",
    "memorisation_ratio": "~1", "modes_captured": "higher", "high_quality": "higher",
    "nll_elbo": "lower", "nll_iwae": "lower",
}


def _decimals(value: float) -> int | None:
    """Decimals that show about four significant digits; None where scientific notation reads better."""
    a = abs(value)
    if a == 0:
        return 3
    if not 1e-3 <= a < 1e5:
        return None
    return min(4, max(0, 3 - int(math.floor(math.log10(a)))))


def fmt(value: float | None, decimals: int | None = -1) -> str:
    """A number with about four significant digits (or ``decimals`` of them), ``-`` for none."""
    if value is None or math.isnan(value):
        return "-"
    d = _decimals(value) if decimals == -1 else decimals
    return f"{value:.3e}" if d is None else f"{value:.{d}f}"


def cell(summary: Summary | None) -> str:
    """``mean ± std`` of a summary (the std to the mean's decimals), or ``-``."""
    if not summary or not summary.get("per_seed"):
        return "-"
    d = _decimals(summary["mean"])
    return f"{fmt(summary['mean'], d)} ± {fmt(summary['std'], d)}"


def shape_text(shape: Sequence[int] | None) -> str:
    """``16x16 px`` for an image shape, ``1 channel x 512 samples`` for signals, ``2-D`` for vectors."""
    shape = list(shape or [])
    if len(shape) == 3:
        return f"{shape[1]}x{shape[2]} px" + (f" ({shape[0]} channels)" if shape[0] != 1 else "")
    if len(shape) == 2:
        return f"{shape[0]} channel{'s' if shape[0] != 1 else ''} x {shape[1]} samples"
    return f"{shape[0]}-D" if shape else "?"


def header_lines(meta: Mapping[str, Any]) -> list[str]:
    """What was measured: sample counts, seeds, resolution, feature space and the floor."""
    seeds = f"{meta['seeds']} seed" + ("s" if meta["seeds"] != 1 else "")
    lines = [f"n = {meta['n']} generated samples per seed, {seeds}; "
             f"held-out split: {meta.get('held_out', '?')} samples"]
    space = meta.get("feature_space")
    scored = shape_text(meta.get("scored_shape"))
    trained = shape_text(meta.get("trained_shape"))
    if space == "extractor":
        how = " (area-averaged)" if scored != trained else ""
        lines.append(f"trained at {trained}, scored at {scored}{how}; features: {meta.get('extractor')}")
    elif space == "vector":
        lines.append(f"data: {trained} vectors; features: the raw coordinates")
    elif space == "spectrum":
        lines.append(f"data: signals of {trained}; features: log10 power in {meta.get('bands')} "
                     "frequency bands per channel, floored at -60 dB (genforge.metrics.spectrum)")
    if meta.get("floor"):
        lines.append(f"floor = a perfect generator: {meta.get('floor_n')} training samples scored the "
                     "same way against the held-out split")
    return lines


def eval_table(results: Mapping[str, Result], meta: Mapping[str, Any]) -> str:
    """The ``genforge eval`` table: value, model mean ± std, floor mean ± std, better."""
    lines = header_lines(meta)
    floor = bool(meta.get("floor"))
    head = f"{'value':20s} {'model (mean ± std)':>24s}"
    head += f" {'floor (mean ± std)':>24s}" if floor else ""
    lines += ["", head + "  better"]
    for key, s in results.items():
        row = f"{key:20s} {cell(s):>24s}"
        row += f" {cell(s.get('floor')):>24s}" if floor else ""
        lines.append(row + f"  {BETTER.get(key, '')}")
    timing = meta.get("metric_seconds_per_seed")
    if timing:
        lines += ["", f"metrics took {timing['mean']:.2f} s per seed on average "
                      f"(not counting the model's sampling)"]
    return "\n".join(lines)
