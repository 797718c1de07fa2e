"""Writing exports so that a failure leaves nothing behind: temp files renamed into place."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import onnx

from genforge import GenforgeError
from genforge_onnx.verify import Verification, check_written

#: protobuf's limit on one serialized message; larger models would need external data.
PROTOBUF_LIMIT = 2**31 - 1


def make_dirs(path: Path, created: list[Path]) -> None:
    """``mkdir -p`` that records each folder it creates (outermost first)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir()
        created.append(d)


@contextlib.contextmanager
def cleanup_on_error(created: list[Path]) -> Iterator[list[Path]]:
    """Remove the recorded paths (files, then folders innermost first) if the block raises."""
    try:
        yield created
    except BaseException:
        for p in reversed(created):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        raise


def temp_path(target: Path) -> Path:
    """A hidden sibling of ``target`` (same folder, so the final rename is atomic)."""
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def save_checked(model: onnx.ModelProto, tmp: Path, verification: Verification) -> None:
    """Serialize ``model`` into one file (weights inline), fsync it and re-check its outputs."""
    data = model.SerializeToString()
    if len(data) > PROTOBUF_LIMIT:
        raise GenforgeError("the model is larger than protobuf's 2 GB limit for one .onnx file")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    check_written(tmp, verification)


def write_onnx(model: onnx.ModelProto, target: Path, verification: Verification) -> Path:
    """Write ``target`` atomically after checking the written bytes; leave nothing on failure."""
    created: list[Path] = []
    with cleanup_on_error(created):
        make_dirs(target.parent, created)
        tmp = temp_path(target)
        created.append(tmp)
        save_checked(model, tmp, verification)
        os.replace(tmp, target)
    return target
