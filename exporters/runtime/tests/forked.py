"""Run a function in a forked child process and get back the bytes it returns."""

from __future__ import annotations

import os
import select
import signal
from collections.abc import Callable


def in_forked_child(fn: Callable[[], bytes], timeout: float = 20) -> bytes:
    """``fn()`` computed in a child forked from this process (which may hold threads and locks)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.alarm(int(timeout) + 10)  # a hung child does not outlive the test
        try:
            os.write(write, fn())
        finally:
            os._exit(0)
    os.close(write)
    try:
        assert select.select([read], [], [], timeout)[0], "the forked child hung"
        return os.read(read, 1 << 16)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
