"""Writing samples to PNG grids and ``.npy`` files (numpy and Pillow only)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def to_grid(samples: np.ndarray, nrow: int | None = None, pad: int = 2, min_side: int = 32) -> np.ndarray:
    """Tile ``[N, C, H, W]`` images in ``[0, 1]`` into one ``[H', W', C]`` uint8 array.

    Images smaller than ``min_side`` pixels are enlarged by an integer factor (nearest
    neighbour) so that small samples stay visible.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"samples: expected [N, C, H, W], got shape {list(x.shape)}")
    factor = max(1, -(-min_side // max(x.shape[2], x.shape[3])))
    x = x.repeat(factor, axis=2).repeat(factor, axis=3)
    n, c, h, w = x.shape
    ncol = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / ncol)
    grid = np.ones((rows * (h + pad) + pad, ncol * (w + pad) + pad, c), dtype=np.float32)
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top : top + h, left : left + w] = x[i].transpose(1, 2, 0)
    return (np.clip(grid, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def scatter(points: np.ndarray, size: int = 384, limit: float | None = None) -> np.ndarray:
    """Render ``[N, 2]`` points as a white ``[size, size, 3]`` uint8 image with dark dots."""
    p = np.asarray(points, dtype=np.float64)
    lim = limit or float(np.abs(p).max() * 1.1 + 1e-9)
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    ij = np.clip(((p / lim + 1.0) / 2.0 * (size - 1)).round().astype(int), 0, size - 1)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            img[np.clip(size - 1 - ij[:, 1] + di, 0, size - 1), np.clip(ij[:, 0] + dj, 0, size - 1)] = (
                30, 60, 160)
    return img


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
    from PIL import Image

    if x.ndim == 2 and x.shape[1] == 2:
        img = scatter(x)
    else:
        img = to_grid(x, nrow)
    Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(p)
    return p
