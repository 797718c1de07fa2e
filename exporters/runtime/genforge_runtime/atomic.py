"""Writing a file whole or not at all: under a temporary name beside it, renamed into place.

``genforge_runtime`` writes its ``.npy`` files and PNG pictures this way, and ``genforge``
its small text files (``checkpoints/latest``, ``metrics.jsonl`` rewritten, the model card).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``: renamed over ``path`` when the block succeeds, removed if not.

    A failed write (a full disk) thus leaves an earlier file of that name as it was, and an
    ``OSError`` from the block names ``path`` (a failed ``write`` names no file).
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.filename in (None, str(tmp)):
            raise OSError(e.errno, f"{e.strerror or e} (nothing was written)", str(path)) from e
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
