"""Writing samples to files: PNG pictures, ``.npy`` arrays and WAV audio (numpy and Pillow only).

The pictures and files are ``genforge_runtime``'s (``grid``: image grids, scatter plots for
2-D data, waveform plots for signals and longer vectors; ``npy``), so ``genforge sample`` and
``genforge-run`` write the same, each file written under a temporary name and renamed into place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge import wav
from genforge_runtime.grid import save_png
from genforge_runtime.npy import write_npy


def save_samples(samples: np.ndarray, path: str | Path, nrow: int | None = None) -> Path:
    """Save samples as ``.npy`` (float32 as given) or as a PNG grid (images, signals) / scatter (2-D)."""
    p = Path(path)
    x = np.asarray(samples, dtype=np.float32)
    if p.suffix.lower() not in (".png", ".npy"):
        raise ValueError(f"{p}: expected a .png or .npy output file")
    if p.suffix.lower() == ".npy":
        p.parent.mkdir(parents=True, exist_ok=True)
        return write_npy(p, x.shape, np.float32, [x])
    return save_png(x, "NCHW", p, nrow)  # ValueError for samples it cannot draw, before any file is made


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
