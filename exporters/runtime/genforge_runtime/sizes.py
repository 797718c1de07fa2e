"""Refusing, before the first sample, an output this machine cannot hold: memory, disk, pixels.

The size of an output is known before anything is drawn: ``check_output`` compares it
with the memory this process may use (samples held whole), the free space of the disk
the file goes to (``.npy``) and the pixels a PNG grid may have. ``genforge`` (no torch
needed here) calls these checks too, so the arithmetic has one owner.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from genforge_runtime.errors import TooLarge
from genforge_runtime.grid import LANE, MAX_PIXELS, WAVE_WIDTH, grid_size

#: Samples held whole are held twice at the peak: gathered, and a float copy as a picture is drawn.
HELD_COPIES = 2


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


def size_text(nbytes: int) -> str:
    """``nbytes`` for people (``"7.2 GiB"``); sizes beyond a float's range as a power of ten."""
    if nbytes >= 2**30 * 10**6:
        return f"10^{math.log10(nbytes) - 30 * math.log10(2):.0f} GiB"  # log10 takes any int
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def check_memory(what: str, n: int, shape: Sequence[int], itemsize: int) -> None:
    """Refuse ``n`` samples of ``shape`` held at once that would not fit in this process's memory."""
    need = n * math.prod(shape) * itemsize * HELD_COPIES
    limit = memory_limit()
    if limit is not None and need > limit:
        raise TooLarge(f"{what}: needs about {size_text(need)} for the samples, more than the "
                       f"{size_text(limit)} this process may use; ask for fewer")


def _existing_folder(path: Path) -> Path:
    """The nearest folder above ``path`` that exists (the one whose disk a new file lands on)."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_disk(what: str, path: Path, need: int) -> None:
    """Refuse writing ``need`` bytes to ``path`` when its disk has less free space."""
    folder = _existing_folder(path)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:  # unknown: a write that runs out of space reports it itself
        return
    if need > free:
        raise TooLarge(f"{what}: {path} needs {size_text(need)}, but the disk holding {folder} has "
                       f"{size_text(free)} free; ask for fewer or free space")


def check_picture(what: str, n: int, shape: Sequence[int], layout: str, nrow: int | None) -> None:
    """Refuse a grid of ``n`` pictures larger than ``MAX_PIXELS``: images of one ``shape`` in ``layout``,
    or waveform plots of ``[C, L]`` signals and ``[D]`` vectors (as ``grid.picture`` draws them)."""
    if list(shape) == [2]:
        return  # points draw a scatter plot of a fixed size
    if len(shape) == 3 and layout in ("NCHW", "NHWC"):
        height, width = shape[1:] if layout == "NCHW" else shape[:2]
    elif len(shape) in (1, 2):
        height, width = (shape[0] if len(shape) == 2 else 1) * LANE, WAVE_WIDTH
    else:
        return
    _, _, rows, cols = grid_size(n, height, width, nrow)
    if rows * cols > MAX_PIXELS:
        raise TooLarge(f"{what}: a grid of {n} images cannot be drawn: it would be {cols} x {rows} "
                       f"pixels, more than the {MAX_PIXELS:,} Pillow opens; ask for fewer or write .npy")


def gather(n: int, shape: Sequence[int], dtype: np.dtype | type, batches: Iterable[np.ndarray]) -> np.ndarray:
    """``batches`` (``n`` rows in all) copied into one array allocated first: samples held once.

    Kept batches would cost more than their size: each pins memory freed around it (the
    network's intermediate results), about 1 KiB per 2-D sample of a small MLP.
    """
    out = np.empty((n, *shape), dtype=dtype)
    start = 0
    for batch in batches:
        out[start : start + len(batch)] = batch
        start += len(batch)
    if start != n:
        raise ValueError(f"{start} samples were drawn for {n} asked")
    return out


def check_output(path: Path, what: str, n: int, shape: Sequence[int], dtype: np.dtype | type, *,
                 layout: str = "NCHW", nrow: int | None = None, held: bool = False) -> None:
    """Refuse, before the first sample, ``n`` samples to ``path`` that memory, disk or a picture cannot hold.

    A ``.png`` holds every sample in memory and draws them as one picture; a ``.npy`` is
    written batch by batch (held whole only when ``held``) and must fit on its disk; ``.wav``
    files (16-bit PCM) are written from samples held whole and must fit on their disk.
    ``what`` names the request in the message (``"-n 1000000000"``).
    """
    itemsize = np.dtype(dtype).itemsize
    suffix = path.suffix.lower()
    if suffix == ".png":
        check_picture(what, n, shape, layout, nrow)
    if suffix in (".png", ".wav") or held:  # WAV files (16-bit PCM) are written from samples held whole
        check_memory(what, n, shape, itemsize)
    if suffix in (".npy", ".wav"):
        check_disk(what, path, n * math.prod(shape) * (itemsize if suffix == ".npy" else 2))
