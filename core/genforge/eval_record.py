"""``RUN/eval.json``: the newest ``genforge eval`` of a run folder, which its model card shows.

``genforge eval`` of a run folder (or of one of its step folders) records its results
here, with the step, the weights (EMA or raw) and the sampler options it sampled with;
each evaluation replaces the previous one. Read as plain JSON (never code).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from genforge.checkpoint import write_atomic_text
from genforge.errors import GenforgeError
from genforge.files import regular_file

EVAL_FILE = "eval.json"


def record(run_dir: Path, evaluation: dict[str, Any]) -> Path:
    """Write ``evaluation`` as ``run_dir/eval.json`` atomically (NaN, a value without a model
    mean, as null); return its path."""
    path = run_dir / EVAL_FILE
    write_atomic_text(path, json.dumps(_finite(evaluation), indent=2) + "\n")
    return path


def read(run_dir: Path) -> dict[str, Any] | None:
    """The recorded evaluation of ``run_dir`` (None when there is none); one-line error when malformed."""
    path = run_dir / EVAL_FILE
    if not path.exists():
        return None
    regular_file(path, "evaluation record")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise GenforgeError(f"{path}: unreadable: {type(e).__name__}: {e}") from None
    if not (isinstance(data, dict) and _count(data.get("step")) and isinstance(data.get("meta"), dict)
            and _count(data["meta"].get("n")) and _count(data["meta"].get("seeds"))
            and isinstance(data.get("results"), dict) and all(map(_summary, data["results"].values()))):
        raise GenforgeError(f"{path}: expected what genforge eval records: step, meta (n, seeds) and "
                            "results (mean, std, per_seed by value name)")
    return data


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _summary(value: Any, floor: bool = True) -> bool:
    """Whether ``value`` is a summary of ``genforge eval`` (with a floor summary, if any)."""
    return (isinstance(value, dict) and _number(value.get("mean")) and _number(value.get("std"))
            and isinstance(value.get("per_seed"), list) and all(map(_number, value["per_seed"]))
            and ("floor" not in value or (floor and _summary(value["floor"], floor=False))))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
