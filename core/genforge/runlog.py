"""``metrics.jsonl``, the run's log: strict JSON lines that survive a crash.

Each line is strict JSON: a NaN or infinite value is written as ``null`` and its key is
listed under ``"nonfinite"``. Reading skips, with one warning, a torn last line (a crash
or a full disk in the middle of a write); a resumed run rewrites the log atomically.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genforge.errors import GenforgeError
from genforge.files import regular_file

LOG_FILE = "metrics.jsonl"


def encode(line: Mapping[str, object]) -> str:
    """One strict-JSON line (with its newline); non-finite floats become ``null``, named in ``nonfinite``."""
    bad = [k for k, v in line.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        line = {**{k: (None if k in bad else v) for k, v in line.items()}, "nonfinite": bad}
    return json.dumps(line, allow_nan=False) + "\n"


def read(path: str | Path) -> list[dict[str, Any]]:
    """The lines of a log as dicts; a torn last line is skipped with one warning."""
    p = regular_file(path, "metrics log")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GenforgeError(f"{p}: not UTF-8 text") from None
    lines = text.split("\n")
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)  # older logs may hold bare NaN: read, rewritten as null
        except (json.JSONDecodeError, RecursionError):
            if i == len(lines):  # no newline after it: the write was cut short
                warnings.warn(f"{p}:{i}: skipped a torn last line (the run stopped while writing it)",
                              stacklevel=2)
                continue
            raise GenforgeError(f"{p}:{i}: not a JSON line") from None
        if not isinstance(row, dict) or not isinstance(row.get("step", 0), int):
            raise GenforgeError(f"{p}:{i}: expected an object with an integer step")
        rows.append(row)
    return rows


def truncate_after(path: str | Path, step: int) -> None:
    """Drop the lines past ``step`` (a resumed run restarts there) and a torn last line, atomically."""
    from genforge.checkpoint import write_atomic_text

    p = Path(path)
    if p.exists():
        rows = [row for row in read(p) if row.get("step", 0) <= step]
        write_atomic_text(p, "".join(encode(row) for row in rows))
