"""Tiling samples into one image and writing it as PNG (Pillow, the optional ``png`` extra)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

PNG_HINT = "writing PNG needs Pillow: pip install 'genforge-runtime[png]' (or write .npy)"


def to_uint8_nhwc(samples: np.ndarray, layout: str) -> np.ndarray:
    """Images as uint8 ``[N, H, W, C]`` from float NCHW in [0, 1] or uint8 NHWC."""
    x = np.asarray(samples)
    if x.ndim != 4 or layout not in ("NCHW", "NHWC"):
        raise ValueError(f"a PNG grid needs image samples; these are {layout} {list(x.shape)} (write .npy)")
    if layout == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    if x.dtype != np.uint8:
        x = (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return x


def to_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2, min_side: int = 32) -> np.ndarray:
    """Tile uint8 ``[N, H, W, C]`` images into one ``[H', W', C]`` array on a white background.

    ``nrow`` is the number of images per row (default: a square grid). Images smaller than
    ``min_side`` pixels are enlarged by an integer factor (nearest neighbour).
    """
    factor = max(1, -(-min_side // max(images.shape[1], images.shape[2], 1)))
    x = images.repeat(factor, axis=1).repeat(factor, axis=2)
    n, h, w, c = x.shape
    ncol = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / ncol))
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top : top + h, left : left + w] = x[i]
    return grid


def save_png(samples: np.ndarray, layout: str, path: str | Path, nrow: int | None = None) -> Path:
    """Write ``samples`` as a PNG grid; ``RuntimeError`` with an install hint without Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError(PNG_HINT) from None
    grid = to_grid(to_uint8_nhwc(samples, layout), nrow)
    p = Path(path)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(p)
    return p
