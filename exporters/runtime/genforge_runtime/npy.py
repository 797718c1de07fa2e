"""Writing samples to a ``.npy`` file batch by batch: memory bounded by one batch, whatever ``n`` is."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from genforge_runtime.atomic import replacing


def write_npy(path: str | Path, shape: tuple[int, ...], dtype: np.dtype | type,
              batches: Iterable[np.ndarray]) -> Path:
    """Write ``batches`` (rows of one ``shape`` array) as ``path``; atomically, nothing left on failure.

    The header is written first and each batch appended as it comes, so nothing but the
    current batch is held (a memory map would be counted in the resident set as it fills).
    A write that fails (a full disk) names ``path``, and an earlier file of that name stays.
    """
    p = Path(path)
    dt = np.dtype(dtype)
    rows = 0
    with replacing(p) as tmp, tmp.open("wb") as f:
        header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(f, header)
        for batch in batches:
            f.write(np.ascontiguousarray(batch, dtype=dt).tobytes())
            rows += len(batch)
        if rows != shape[0]:
            raise ValueError(f"{p}: {rows} rows were written for a [{shape[0]}, ...] array")
    return p
