"""Writing samples to a ``.npy`` file batch by batch: memory bounded by one batch, whatever ``n`` is."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def write_npy(path: str | Path, shape: tuple[int, ...], dtype: np.dtype | type,
              batches: Iterable[np.ndarray]) -> Path:
    """Write ``batches`` (rows of one ``shape`` array) as ``path``; atomically, nothing left on failure.

    The header is written first and each batch appended as it comes, so nothing but the
    current batch is held (a memory map would be counted in the resident set as it fills).
    """
    p = Path(path)
    dt = np.dtype(dtype)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    rows = 0
    try:
        with tmp.open("wb") as f:
            header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(f, header)
            for batch in batches:
                f.write(np.ascontiguousarray(batch, dtype=dt).tobytes())
                rows += len(batch)
        if rows != shape[0]:
            raise ValueError(f"{p}: {rows} rows were written for a [{shape[0]}, ...] array")
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p
