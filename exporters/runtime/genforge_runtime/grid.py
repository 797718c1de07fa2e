"""Samples as one picture: image grids and 2-D scatter plots, written as PNG (Pillow, the ``png`` extra).

numpy only; ``genforge`` draws its grids and scatter plots with these functions too, so
``genforge sample`` and ``genforge-run`` write the same pictures.
"""

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
    if not 1 <= x.shape[-1] <= 4:
        raise ValueError(f"a PNG grid draws images of 1 to 4 channels; these have {x.shape[-1]} (write .npy)")
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


def is_points(samples: np.ndarray) -> bool:
    """True for ``[N, 2]`` samples (2-D data), which are drawn as a scatter plot."""
    return samples.ndim == 2 and samples.shape[1] == 2


def picture(samples: np.ndarray, layout: str, nrow: int | None = None) -> np.ndarray:
    """The PNG picture of ``samples``: a scatter plot for 2-D points, else an image grid."""
    x = np.asarray(samples)
    return scatter(x) if is_points(x) else to_grid(to_uint8_nhwc(x, layout), nrow)


def save_png(samples: np.ndarray, layout: str, path: str | Path, nrow: int | None = None) -> Path:
    """Write ``samples`` as a PNG grid or scatter plot (``RuntimeError`` with a hint without Pillow)."""
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError(PNG_HINT) from None
    grid = picture(samples, layout, nrow)
    p = Path(path)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(p)
    return p
