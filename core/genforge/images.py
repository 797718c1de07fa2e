"""Writing samples to files: PNG pictures, ``.npy`` arrays and WAV audio (numpy and Pillow only).

The pictures are ``genforge_runtime.grid``'s (image grids, scatter plots for 2-D data,
waveform plots for signals and longer vectors), so ``genforge sample`` and
``genforge-run`` draw the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge import wav
from genforge_runtime.grid import picture


def save_samples(samples: np.ndarray, path: str | Path, nrow: int | None = None) -> Path:
    """Save samples as ``.npy`` (float32 as given) or as a PNG grid (images, signals) / scatter (2-D)."""
    p = Path(path)
    x = np.asarray(samples, dtype=np.float32)
    if p.suffix == ".npy":
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, x, allow_pickle=False)
        return p
    if p.suffix.lower() != ".png":
        raise ValueError(f"{p}: expected a .png or .npy output file")
    from PIL import Image

    img = picture(x, "NCHW", nrow)  # before any folder is made: ValueError for samples it cannot draw
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(p)
    return p


def wav_paths(path: str | Path, n: int) -> list[Path]:
    """Where ``n`` samples go: ``path`` itself for one, else ``STEM-000.wav``, ``STEM-001.wav``, ..."""
    p = Path(path)
    if n == 1:
        return [p]
    digits = max(3, len(str(n - 1)))
    return [p.with_name(f"{p.stem}-{i:0{digits}d}{p.suffix}") for i in range(n)]


def save_wav(samples: np.ndarray, path: str | Path, rate: int) -> list[Path]:
    """Write each ``[C, L]`` signal (a ``[D]`` vector: one channel) as a 16-bit PCM WAV file at ``rate`` Hz.

    Values are clipped to ``[-1, 1]``; the files are named by ``wav_paths``.
    """
    x = np.asarray(samples, dtype=np.float32)
    x = x[:, None] if x.ndim == 2 else x
    if x.ndim != 3:
        raise ValueError(f"{path}: WAV files hold signals [N, C, L] or vectors [N, D], got shape "
                         f"{list(np.shape(samples))}")
    paths = wav_paths(path, len(x))
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    for signal, p in zip(x, paths, strict=True):
        wav.write(p, signal, rate)
    return paths
