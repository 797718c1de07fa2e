"""Files: only regular files are opened (a FIFO or a device would block or never end); new folders
are written whole or not at all; folders are flushed to disk."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from genforge.errors import GenforgeError


def regular_file(path: str | Path, what: str = "file", error: type[GenforgeError] = GenforgeError) -> Path:
    """``path`` if it is a regular file (symlinks followed); else ``error`` with one line."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise error(f"{p}: {what} not found") from None
    except OSError as e:
        raise error(f"{p}: cannot read the {what}: {e.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, socket or device, not a regular file"
        raise error(f"{p}: expected a {what}, found {kind}")
    return p


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename into it, a new file) to disk; a no-op where POSIX is not."""
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_empty(out: Path) -> None:
    """Refuse an ``out`` that is a file or a folder holding anything (``GenforgeError``, nothing written)."""
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise GenforgeError(f"--out {out}: exists and is not an empty folder; choose a new one "
                            "(nothing was written)")


def _alive(pid: int) -> bool:
    """True when process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


@contextlib.contextmanager
def new_folder(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` (``.NAME.tmp-PID``) to fill, renamed to ``out`` when the block ends.

    ``out`` must not exist or be an empty folder, before and after the block. An error in the
    block removes the hidden folder, so nothing is left at ``out``; a killed process leaves only
    the hidden folder, which the next call for the same ``out`` removes (once its process is
    gone). The files, the folder and the rename are flushed to disk.
    """
    check_empty(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        pid = re.fullmatch(r".*\.tmp-(\d+)", stale.name)
        if pid is not None and (int(pid.group(1)) == os.getpid() or not _alive(int(pid.group(1)))):
            shutil.rmtree(stale, ignore_errors=True)
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
    staging.mkdir()
    try:
        yield staging
        for path in staging.rglob("*"):
            if path.is_file():
                with path.open("rb") as f:
                    os.fsync(f.fileno())
        fsync_dir(staging)
        check_empty(out)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
