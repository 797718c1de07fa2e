"""Checking labels before they reach the session (onnxruntime does not range-check them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genforge_runtime.errors import short


def check_labels(labels: int | Sequence[int] | np.ndarray | None, n: int, num_classes: int,
                 conditional: bool) -> np.ndarray | None:
    """Return ``n`` int64 labels (one label repeats) or ``None``; ``ValueError`` with one line if bad."""
    if labels is None:
        return None
    if not conditional:
        raise ValueError("labels: this model is not conditional (it has no labels input); pass labels=None")
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, (bool, np.bool_)):
        if not 0 <= labels < num_classes:  # the common case, kept cheap: one label for all
            raise ValueError(f"labels: expected class indices in [0, {num_classes - 1}], got [{labels}]")
        return np.full(n, labels, dtype=np.int64)
    arr = np.asarray(labels)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_):
        raise ValueError(f"labels: expected an int or a sequence of ints, got {short(labels)}")
    if arr.ndim > 1:
        raise ValueError(f"labels: expected an int or a 1-D sequence, got shape {list(arr.shape)}")
    arr = arr.reshape(-1)
    if arr.size not in (1, n):
        raise ValueError(f"labels: expected 1 or {n} labels, got {arr.size}")
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if bad.size:
        raise ValueError(f"labels: expected class indices in [0, {num_classes - 1}], got "
                         f"{short(np.unique(bad).tolist())}")
    out = arr.astype(np.int64)
    return np.full(n, out[0], dtype=np.int64) if out.size == 1 and n != 1 else out
