"""Reading files safely: only regular files are opened (a FIFO or a device would block or never end)."""

from __future__ import annotations

import stat
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
