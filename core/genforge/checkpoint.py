"""Checkpoint folders: ``config.json`` + ``model.safetensors`` + training state. No pickle.

A run folder holds ``checkpoints/step-NNNNNN/`` folders and a ``checkpoints/latest``
pointer file naming the newest. Each folder is written under a temporary name,
flushed to disk and renamed into place; the pointer is replaced atomically after
that, so a crash at any moment leaves the previous checkpoint intact and current.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from genforge.errors import CheckpointError

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
STATE = "training_state.safetensors"
STATE_JSON = "training_state.json"
LATEST = "latest"
_TENSOR = "__tensor__"


def step_dir_name(step: int) -> str:
    """Folder name of the checkpoint at ``step``."""
    return f"step-{step:06d}"


def flatten_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Move every tensor of a nested structure into ``tensors``; return a JSON-ready skeleton."""
    if isinstance(obj, torch.Tensor):
        key = prefix or "root"
        tensors[key] = obj.detach().cpu().clone().contiguous()
        return {_TENSOR: key}
    if isinstance(obj, Mapping):
        return {"__dict__": [[k, flatten_state(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint")


def unflatten_state(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of ``flatten_state``."""
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        return {k: unflatten_state(v, tensors) for k, v in skeleton["__dict__"]}
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(path: Path, data: Any) -> None:
    with path.open("w") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str] | None = None) -> None:
    save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, str(path), meta)
    with path.open("rb") as f:
        os.fsync(f.fileno())


def write_atomic_text(path: Path, text: str) -> None:
    """Write a small text file by writing a temporary one and renaming it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(
    run_dir: Path,
    step: int,
    config: dict[str, Any],
    weights: dict[str, torch.Tensor],
    training_state: dict[str, Any],
    keep: int = 3,
    extra_weights: dict[str, dict[str, torch.Tensor]] | None = None,
) -> Path:
    """Write ``run_dir/checkpoints/step-NNNNNN`` atomically, point ``latest`` at it, prune old ones.

    ``extra_weights`` maps further file names (such as ``ema.safetensors``) to tensors.
    """
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    _write_json(tmp / CONFIG, config)
    _save_tensors(tmp / WEIGHTS, weights, {"format": "pt"})
    for filename, tensors in (extra_weights or {}).items():
        _save_tensors(tmp / filename, tensors, {"format": "pt"})
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten_state(training_state, "state", tensors)
    _save_tensors(tmp / STATE, tensors)
    _write_json(tmp / STATE_JSON, skeleton)
    _fsync_dir(tmp)
    if final.exists():
        old = root / f".old-{final.name}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        os.replace(tmp, final)
    write_atomic_text(root / LATEST, final.name + "\n")
    _fsync_dir(root)
    _prune(root, keep, final.name)
    return final


def _prune(root: Path, keep: int, current: str) -> None:
    """Remove step folders beyond the newest ``keep`` and leftovers of interrupted saves."""
    steps = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
    stale = [p for p in root.iterdir() if p.is_dir() and p.name.startswith((".tmp-", ".old-"))]
    for p in [*steps[:-keep], *stale]:
        if p.name != current:
            shutil.rmtree(p, ignore_errors=True)


def find_checkpoint(path: str | Path) -> Path:
    """Resolve a run folder (its latest checkpoint) or a checkpoint folder to a checkpoint folder."""
    p = Path(path)
    if (p / CONFIG).is_file() and (p / WEIGHTS).is_file():
        return p
    pointer = p / "checkpoints" / LATEST
    if not p.exists():
        raise CheckpointError(f"{p}: no such run or checkpoint folder")
    if not pointer.is_file():
        raise CheckpointError(f"{p}: not a checkpoint folder (no {CONFIG} + {WEIGHTS}) "
                              f"and not a run folder (no checkpoints/{LATEST})")
    target = p / "checkpoints" / pointer.read_text().strip()
    if not (target / CONFIG).is_file():
        raise CheckpointError(f"{pointer}: points to {target.name}, which is missing or incomplete")
    return target


def read_config(ckpt: Path) -> dict[str, Any]:
    """Read a checkpoint's ``config.json``."""
    try:
        return json.loads((ckpt / CONFIG).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{ckpt / CONFIG}: unreadable: {e}") from None


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file (never executes code) with a one-line error on failure."""
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"{path}: unreadable safetensors file: {e}") from None


def read_training_state(ckpt: Path) -> dict[str, Any]:
    """Read the optimizer, step and RNG state written by ``save_checkpoint``."""
    if not (ckpt / STATE_JSON).is_file():
        raise CheckpointError(f"{ckpt}: no training state; it cannot be resumed")
    try:
        skeleton = json.loads((ckpt / STATE_JSON).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{ckpt / STATE_JSON}: unreadable: {e}") from None
    return unflatten_state(skeleton, read_tensors(ckpt / STATE))
