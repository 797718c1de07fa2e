"""Refusing sizes this machine cannot hold, in one line, before anything is allocated."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from genforge.errors import GenforgeError


def memory_limit() -> int | None:
    """Bytes this process may use: physical memory, or a lower ``ulimit -v``/``-d`` (None: unknown)."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        import resource

        for kind in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
            soft = resource.getrlimit(kind)[0]
            if soft != resource.RLIM_INFINITY:
                limits.append(soft)
    except (ImportError, AttributeError, ValueError, OSError):
        pass
    return min(limits) if limits else None


def check_fits(option: str, count: int, shape: Sequence[int], itemsize: int = 4, copies: int = 2) -> None:
    """Refuse ``count`` samples of ``shape`` (held ``copies`` times) that would not fit in memory."""
    need = count * math.prod(shape) * itemsize * copies
    limit = memory_limit()
    if limit is not None and need > limit:
        raise GenforgeError(f"{option} {count}: needs about {need / 2**30:.1f} GiB for the samples, more "
                            f"than the {limit / 2**30:.1f} GiB this process may use; ask for fewer")
