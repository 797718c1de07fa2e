"""Samples as one picture, encoded as PNG (Pillow, the ``png`` extra): image grids, 2-D scatter
plots, and grids of waveform plots for signals and longer vectors.

numpy only; ``genforge`` draws its pictures with these functions too, so ``genforge sample``,
``genforge-run`` and ``png_bytes`` (what an app serves) give the same pictures.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from genforge_runtime.atomic import replacing

PNG_HINT = "writing PNG needs Pillow: pip install 'genforge-runtime[png]' (or write .npy)"
#: The most pixels a grid may have: Pillow's ``Image.MAX_IMAGE_PIXELS``, beyond which it warns
#: that a file may be a decompression bomb when opening it (and refuses one twice as large).
MAX_PIXELS = 89_478_485
#: Grid layout: pixels between images, and the side images smaller than it are enlarged to.
PAD, MIN_SIDE = 2, 32
#: A waveform plot's width, and the height of each channel's lane in it.
WAVE_WIDTH, LANE = 128, 40
#: Points a scatter plot converts at a time (its working memory does not grow with ``n``).
SCATTER_CHUNK = 1 << 20


def to_uint8_nhwc(samples: np.ndarray, layout: str) -> np.ndarray:
    """Images as uint8 ``[N, H, W, C]`` from uint8 (as is) or float (in [0, 1]) NCHW or NHWC samples."""
    x = np.asarray(samples)
    shape = list(x.shape)
    if x.ndim != 4 or layout not in ("NCHW", "NHWC"):
        raise ValueError(f"a PNG grid needs image samples; these are {layout} {shape} (write .npy)")
    if layout == "NCHW":
        x = x.transpose(0, 2, 3, 1)
    if not 1 <= x.shape[-1] <= 4:
        raise ValueError(f"a PNG grid needs 1 to 4 channels (grey, grey + alpha, RGB, RGBA); these "
                         f"{layout} samples {shape} have {x.shape[-1]}")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"a PNG grid needs uint8 or float samples; these are {x.dtype}")
        # one float copy, scaled in place
        scaled = np.clip(x, 0.0, 1.0).astype(np.result_type(x.dtype, np.float16), copy=False)
        scaled *= 255.0
        scaled += 0.5
        x = scaled.astype(np.uint8)
    return x


def grid_size(n: int, height: int, width: int, nrow: int | None = None, pad: int = PAD,
              min_side: int = MIN_SIDE) -> tuple[int, int, int, int]:
    """(enlargement factor, images per row, picture height, picture width) of a grid of ``n`` images.

    ``nrow`` is the number of images per row (default: a square grid), ``pad`` the pixels
    between them; images smaller than ``min_side`` pixels are enlarged by an integer factor.
    Integer arithmetic only, so any ``n`` can be measured before a single image exists.
    """
    factor = max(1, -(-min_side // max(height, width, 1)))
    ncol = nrow or (math.isqrt(n - 1) + 1 if n > 0 else 1)
    rows = max(1, -(-n // ncol))
    return factor, ncol, rows * (height * factor + pad) + pad, ncol * (width * factor + pad) + pad


def to_grid(images: np.ndarray, nrow: int | None = None, pad: int = PAD,
            min_side: int = MIN_SIDE) -> np.ndarray:
    """Tile uint8 ``[N, H, W, C]`` images into one ``[H', W', C]`` array on white (sizes: ``grid_size``)."""
    n, h, w, c = images.shape
    factor, ncol, height, width = grid_size(n, h, w, nrow, pad, min_side)
    x = images.repeat(factor, axis=1).repeat(factor, axis=2)
    h, w = h * factor, w * factor
    grid = np.full((height, width, c), 255, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top : top + h, left : left + w] = x[i]
    return grid


def scatter(points: np.ndarray, size: int = 384, limit: float | None = None) -> np.ndarray:
    """Render ``[N, 2]`` points as a white ``[size, size, 3]`` uint8 image with dark dots."""
    lim = limit or max(float(np.max(points)), -float(np.min(points)), 0.0) * 1.1 + 1e-9
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    for start in range(0, len(points), SCATTER_CHUNK):
        p = np.asarray(points[start : start + SCATTER_CHUNK], dtype=np.float64)
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


def waveforms(samples: np.ndarray, width: int = WAVE_WIDTH, lane: int = LANE) -> np.ndarray:
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


def encode_png(image: np.ndarray) -> bytes:
    """A uint8 ``[H, W, C]`` picture as PNG bytes (``RuntimeError`` with a hint without Pillow)."""
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError(PNG_HINT) from None
    out = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(out, format="PNG")
    return out.getvalue()


def png_bytes(samples: np.ndarray, layout: str, nrow: int | None = None, pad: int = PAD,
              min_side: int = MIN_SIDE) -> bytes:
    """Images as the bytes of one PNG grid (``image/png``); ``layout``: the manifest's ``output_layout``.

    The grid is ``genforge-run``'s: ``nrow`` images per row (default: a square grid),
    ``pad`` white pixels between them, images under ``min_side`` pixels enlarged by an
    integer factor. One PNG per sample: ``png_bytes(x[i:i + 1], layout, pad=0, min_side=1)``
    is sample ``i`` at its own size. Samples that are not images (such as 2-D points) are
    a one-line ``ValueError``.
    """
    for name, value, low in (("nrow", nrow, 1), ("pad", pad, 0), ("min_side", min_side, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return encode_png(to_grid(to_uint8_nhwc(samples, layout), nrow, pad, min_side))


def save_png(samples: np.ndarray, layout: str, path: str | Path, nrow: int | None = None) -> Path:
    """Write ``samples``' picture (``picture``) as a PNG (``RuntimeError`` with a hint without Pillow).

    Samples it cannot draw are a ``ValueError`` before any folder or file is made. The file
    is written under a temporary name and renamed into place: a full disk leaves an earlier
    file of that name as it was, and no partial one.
    """
    p = Path(path)
    data = encode_png(picture(samples, layout, nrow))
    p.parent.mkdir(parents=True, exist_ok=True)
    with replacing(p) as tmp:
        tmp.write_bytes(data)
    return p
