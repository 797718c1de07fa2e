"""Writing samples to PNG pictures and ``.npy`` files (numpy and Pillow only).

The pictures and files are ``genforge_runtime``'s (``grid``: image grids, scatter plots for
2-D data; ``npy``), so ``genforge sample`` and ``genforge-run`` write the same, each file
written under a temporary name and renamed into place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge_runtime.grid import is_points, save_png
from genforge_runtime.npy import write_npy


def save_samples(samples: np.ndarray, path: str | Path, nrow: int | None = None) -> Path:
    """Save samples as ``.npy`` (float32 as given) or as a PNG grid (images) / scatter (2-D)."""
    p = Path(path)
    x = np.asarray(samples, dtype=np.float32)
    if p.suffix.lower() not in (".png", ".npy"):
        raise ValueError(f"{p}: expected a .png or .npy output file")
    if p.suffix.lower() == ".png" and x.ndim != 4 and not is_points(x):
        raise ValueError(f"samples: expected [N, C, H, W] or [N, 2], got shape {list(x.shape)}")
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".npy":
        return write_npy(p, x.shape, np.float32, [x])
    return save_png(x, "NCHW", p, nrow)
