"""Tiny training runs through ``genforge.train``, shared by the checks of one subject."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from genforge.errors import GenforgeError
from genforge.testing.pickles import pickle_files, record_pickle_calls
from genforge.testing.results import ConformanceError
from genforge.testing.subject import Subject

if TYPE_CHECKING:
    from genforge.trainer import TrainingRun

#: Steps of the reference run; the resumed run stops at half of it and continues.
STEPS = 4
_ROOT: Path | None = None
_CACHE: dict[tuple[object, ...], TinyRun] = {}


@dataclass
class TinyRun:
    """A finished tiny run: its folder, the ``TrainingRun``, and the pickle it used."""

    out: Path
    run: TrainingRun
    pickle_calls: list[str] = field(default_factory=list)
    pickle_files: list[Path] = field(default_factory=list)


def scratch(label: str) -> Path:
    """A fresh folder under the kit's temporary root (removed at interpreter exit)."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="genforge-kit-"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return Path(tempfile.mkdtemp(prefix=f"{label}-", dir=_ROOT))


def train(subject: Subject, kind: str, steps: int, out: Path | None = None,
          resume: bool = False) -> TinyRun:
    """Run ``genforge.train`` on the tiny config, recording any pickle use."""
    import genforge

    out = out or scratch(f"{subject.name}-{kind}")
    config = subject.run_config(kind, str(out), steps)
    with record_pickle_calls() as calls:
        try:
            run = genforge.train(config, resume=resume, plugins=subject.plugins)
        except GenforgeError as e:
            raise ConformanceError(f"genforge.train on {kind} data failed: {e}") from None
    return TinyRun(out, run, list(calls), pickle_files(out))


def reference_run(subject: Subject, kind: str = "image") -> TinyRun:
    """The subject's uninterrupted ``STEPS``-step run on ``kind`` data (trained once per process)."""
    key = (subject.plugins, subject.name, json.dumps(subject.tiny(), sort_keys=True), kind)
    if key not in _CACHE:
        _CACHE[key] = train(subject, kind, STEPS)
    return _CACHE[key]
