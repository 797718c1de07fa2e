"""Writing samples to PNG pictures and ``.npy`` files (numpy and Pillow only).

The pictures are ``genforge_runtime.grid``'s (image grids, scatter plots for 2-D data),
so ``genforge sample`` and ``genforge-run`` draw the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge_runtime.grid import is_points, save_png


def save_samples(samples: np.ndarray, path: str | Path, nrow: int | None = None) -> Path:
    """Save samples as ``.npy`` (float32 as given) or as a PNG grid (images) / scatter (2-D)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    x = np.asarray(samples, dtype=np.float32)
    if p.suffix == ".npy":
        np.save(p, x, allow_pickle=False)
        return p
    if p.suffix.lower() != ".png":
        raise ValueError(f"{p}: expected a .png or .npy output file")
    if x.ndim != 4 and not is_points(x):
        raise ValueError(f"samples: expected [N, C, H, W] or [N, 2], got shape {list(x.shape)}")
    return save_png(x, "NCHW", p, nrow)
