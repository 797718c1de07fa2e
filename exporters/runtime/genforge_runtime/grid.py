"""Samples as one picture, written as PNG (Pillow, the ``png`` extra): image grids, 2-D scatter
plots, and grids of waveform plots for signals and longer vectors.

numpy only; ``genforge`` draws its pictures with these functions too, so
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


def _columns(series: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of ``[..., L]`` series over ``width`` columns, each column joined to the one before."""
    n = series.shape[-1]
    if n >= width:  # several samples per column: their extent, and the end of the column before
        starts = np.arange(width) * n // width
        low = np.minimum.reduceat(series, starts, axis=-1)
        high = np.maximum.reduceat(series, starts, axis=-1)
        last = series[..., np.append(starts[1:], n) - 1]
    else:  # fewer samples than columns: linear interpolation
        t = np.linspace(0.0, n - 1, width)
        i = np.minimum(t.astype(int), n - 1)
        j = np.minimum(i + 1, n - 1)
        low = high = last = series[..., i] * (1.0 - (t - i)) + series[..., j] * (t - i)
    before = np.concatenate([last[..., :1], last[..., :-1]], axis=-1)
    return np.minimum(low, before), np.maximum(high, before)


def waveforms(samples: np.ndarray, width: int = 128, lane: int = 40) -> np.ndarray:
    """``[N, C, L]`` signals (``[N, D]``: one channel) as uint8 ``[N, C * lane, width, 3]`` line plots.

    Each sample is one framed plot with one lane per channel; every lane shares one vertical
    scale (the samples' finite minimum to maximum), so amplitudes compare across the grid.
    Zero, when in range, is a grey line.
    """
    x = np.asarray(samples, dtype=np.float64)
    x = x[:, None] if x.ndim == 2 else x
    if x.ndim != 3 or x.size == 0:
        raise ValueError(f"a waveform plot needs [N, C, L] signals, got shape {list(np.shape(samples))}")
    finite = np.isfinite(x)
    lo, hi = (float(x[finite].min()), float(x[finite].max())) if finite.any() else (-1.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 1.0, hi + 1.0
    x = np.clip(np.where(finite, x, 0.0), lo, hi)
    low, high = _columns(x, width)
    pad = 3

    def row(v: np.ndarray | float) -> np.ndarray:
        return np.rint((hi - np.asarray(v)) / (hi - lo) * (lane - 1 - 2 * pad) + pad).astype(int)

    rows = np.arange(lane)[:, None]
    ink = (rows >= row(high)[..., None, :]) & (rows <= row(low)[..., None, :])  # [N, C, lane, width]
    n, c = x.shape[:2]
    img = np.full((n, c, lane, width, 3), 255, dtype=np.uint8)
    if lo < 0.0 < hi:
        img[:, :, int(row(0.0))] = 210
    img[ink] = (30, 60, 160)
    img[:, :, [0, -1]] = 190  # a frame, and a line between channel lanes
    img[:, :, :, [0, -1]] = 190
    return img.reshape(n, c * lane, width, 3)


def is_points(samples: np.ndarray) -> bool:
    """True for ``[N, 2]`` samples (2-D data), which are drawn as a scatter plot."""
    return samples.ndim == 2 and samples.shape[1] == 2


def picture(samples: np.ndarray, layout: str, nrow: int | None = None) -> np.ndarray:
    """The PNG picture of ``samples``: a scatter plot for 2-D points, a grid of images (``[N, C, H, W]``)
    or of waveform plots (``[N, C, L]`` signals, ``[N, D]`` vectors); ``ValueError`` for other shapes."""
    x = np.asarray(samples)
    if is_points(x):
        return scatter(x)
    if x.ndim in (2, 3):
        return to_grid(waveforms(x), nrow)
    return to_grid(to_uint8_nhwc(x, layout), nrow)


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
