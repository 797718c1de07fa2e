"""What the folder and file sources share: a folder's files (one subfolder per class gives
labels) and the seeded train/held-out split (numpy only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.errors import DataError, one_line


@dataclass(frozen=True)
class Listing:
    """The files of a data folder in a fixed order, with their class labels when it has classes."""

    files: list[Path]
    labels: list[int] | None
    class_names: tuple[str, ...]


def files_in(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The sorted regular files directly in ``folder`` ending in one of ``suffixes`` (hidden ones skipped)."""
    with os.scandir(folder) as found:  # names sorted as strings: as paths of one folder sort, but faster
        names = sorted(e.name for e in found
                       if os.path.splitext(e.name)[1].lower() in suffixes and not e.name.startswith(".")
                       and e.is_file())
    return [folder / name for name in names]


def list_folder(path: str, suffixes: tuple[str, ...], what: str = "files") -> Listing:
    """The ``what`` of ``data.path``: those of its class subfolders (labels by sorted name), else its own."""
    root = Path(path).expanduser()
    where = f"data.path {str(root)!r}"
    if not root.exists():
        raise DataError(f"{where}: no such folder")
    if not root.is_dir():
        raise DataError(f"{where}: not a folder")
    try:
        subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        classes = [(d.name, found) for d in subdirs if (found := files_in(d, suffixes))]
        own = files_in(root, suffixes) if not classes else []
    except OSError as exc:
        raise DataError(f"{where}: cannot list ({one_line(exc)})") from exc
    if not classes:
        if not own:
            raise DataError(f"{where}: no {'/'.join(suffixes)} {what} in the folder or its subfolders")
        return Listing(own, None, ())
    files = [f for _, found in classes for f in found]
    labels = [k for k, (_, found) in enumerate(classes) for _ in found]
    return Listing(files, labels, tuple(name for name, _ in classes))


def split_indices(n: int, test_fraction: float, seed: int, what: str = "samples"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices: a permutation seeded by ``seed``, the held-out share taken first."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_fraction)
    if n_test == n:
        raise DataError(f"data.test_fraction {test_fraction}: leaves no training {what} out of {n}")
    return perm[n_test:], perm[:n_test]
