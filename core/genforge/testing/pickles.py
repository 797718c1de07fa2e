"""Finding pickle: calls to pickle/torch.save/torch.load during a run, and pickle files it left."""

from __future__ import annotations

import contextlib
import pickle
import traceback
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

_PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib"}


def _caller(skip: tuple[str, ...]) -> str:
    """``file:line`` of the innermost frame outside the wrapper, torch and pickle."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        name = frame.filename.replace("\\", "/")
        if not any(part in name for part in skip):
            return f"{Path(frame.filename).name}:{frame.lineno}"
    return "?"


@contextlib.contextmanager
def record_pickle_calls() -> Iterator[list[str]]:
    """Record ``pickle.dump(s)``/``load(s)``, ``torch.save`` and ``torch.load`` calls made inside.

    The functions still run; each call is recorded as ``"torch.save at file.py:12"``.
    """
    import torch

    calls: list[str] = []
    targets: list[tuple[ModuleType, str]] = [(pickle, n) for n in ("dump", "dumps", "load", "loads")]
    targets += [(torch, "save"), (torch, "load")]
    originals = [(mod, name, getattr(mod, name)) for mod, name in targets]
    skip = ("/torch/", "/pickle.py", "genforge/testing/pickles.py")

    def wrap(label: str, fn: Callable[..., object]) -> Callable[..., object]:
        def recorder(*args: object, **kwargs: object) -> object:
            calls.append(f"{label} at {_caller(skip)}")
            return fn(*args, **kwargs)
        return recorder

    for mod, name, fn in originals:
        setattr(mod, name, wrap(f"{mod.__name__}.{name}", fn))
    try:
        yield calls
    finally:
        for mod, name, fn in originals:
            setattr(mod, name, fn)


def is_pickle_file(path: Path) -> bool:
    """True for a pickle stream or a ``torch.save`` zip archive (judged by content and suffix)."""
    if path.suffix in _PICKLE_SUFFIXES:
        return True
    with path.open("rb") as f:
        head = f.read(2)
    if head[:1] == b"\x80" and len(head) == 2 and 2 <= head[1] <= 5:  # PROTO opcode
        return True
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return any(n.endswith(".pkl") for n in z.namelist())
    return False


def pickle_files(folder: Path) -> list[Path]:
    """Files under ``folder`` that hold pickle, relative to it."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and is_pickle_file(p))
