"""``genforge plot``: loss and metric curves of a run's ``metrics.jsonl`` to a PNG (matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from genforge import runlog
from genforge.errors import GenforgeError

#: Keys of a loss line that are bookkeeping, not curves.
SKIP = {"step", "kind", "n", "samples_per_s", "time_s", "eval_s"}


def read_log(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None]:
    """(loss lines, eval lines, floor line or None) of a ``metrics.jsonl`` file."""
    losses, evals, floor = [], [], None
    for row in runlog.read(path):
        kind = row.get("kind")
        if kind == "eval":
            evals.append(row)
        elif kind == "floor":
            floor = row
        elif kind is None:
            losses.append(row)
    return losses, evals, floor


def _series(rows: list[dict[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    out: dict[str, tuple[list[int], list[float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key not in SKIP and isinstance(value, (int, float)):
                steps, values = out.setdefault(key, ([], []))
                steps.append(row["step"])
                values.append(float(value))
    return out


def plot_run(run: str | Path, out: str | Path | None = None) -> Path:
    """Draw the losses (one panel) and each evaluated metric (one panel each, floor dashed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise GenforgeError("genforge plot needs matplotlib: pip install 'genforge[plot]'") from None
    run = Path(run)
    log = run / "metrics.jsonl"
    if not log.is_file():
        raise GenforgeError(f"{run}: no metrics.jsonl (not a run folder?)")
    losses, evals, floor = read_log(log)
    loss_series, eval_series = _series(losses), _series(evals)
    panels = (1 if loss_series else 0) + len(eval_series)
    if panels == 0:
        raise GenforgeError(f"{log}: nothing to plot")
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    flat = list(axes.flat)
    i = 0
    if loss_series:
        ax = flat[0]
        for key, (steps, values) in loss_series.items():
            ax.plot(steps, values, label=key, linewidth=1)
        ax.set_title("training losses")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        i = 1
    for key, (steps, values) in eval_series.items():
        ax = flat[i]
        ax.plot(steps, values, marker="o", markersize=3, label="model")
        if floor is not None and isinstance(floor.get(key), (int, float)):
            ax.axhline(floor[key], linestyle="--", color="gray", label="floor (train vs held-out)")
            ax.legend(fontsize=7)
        n = evals[0].get("n")
        ax.set_title(f"{key}" + (f" (n={n})" if n else ""))
        ax.set_xlabel("step")
        i += 1
    for ax in flat[i:]:
        ax.axis("off")
    fig.suptitle(str(run.name))
    fig.tight_layout()
    path = Path(out) if out else run / "curves.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
