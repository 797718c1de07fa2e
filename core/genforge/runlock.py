"""The run lock: one trainer per run folder, held for the trainer's whole life.

``genforge train`` holds an exclusive lock on ``RUN/train.lock`` (``flock``; the lock
goes with the process, so a killed trainer never leaves a stale one). The file names
the holder, so a second trainer on the same folder stops at once with one line saying
which process holds it. A process forked by the trainer (a DataLoader worker) closes its copy
of the lock's descriptor at once, so the lock goes with the trainer alone.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from types import TracebackType

from genforge.errors import GenforgeError

LOCK_FILE = "train.lock"
#: The lock descriptors this process holds (a forked child closes them).
_HELD: set[int] = set()


def _release_in_child() -> None:
    """In a forked child: close the inherited lock descriptors (the parent keeps its lock)."""
    for fd in _HELD:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_release_in_child)

if sys.platform == "win32":  # pragma: no cover
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


class RunLocked(GenforgeError):
    """Another trainer holds the run folder's lock."""


class RunLock:
    """A context manager holding ``RUN/train.lock`` exclusively (a no-op when not ``enabled``)."""

    def __init__(self, run_dir: str | Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.enabled = enabled
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        if not self.enabled:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise RunLocked(f"{self.path.parent}: another trainer ({holder}) is training in this run "
                            "folder; wait for it to finish or choose another --out")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        _HELD.add(fd)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            _HELD.discard(self._fd)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def check_free(run_dir: str | Path) -> None:
    """Raise ``RunLocked`` at once if a trainer holds ``run_dir`` (cheap: the CLI calls it before torch).

    The trainer takes the lock itself later; this only spares a second trainer the start-up.
    """
    if (Path(run_dir) / LOCK_FILE).is_file():
        with RunLock(run_dir):
            pass
