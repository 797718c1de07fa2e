"""The ``cifar10`` and ``cifar100`` data sources: the binary versions of CIFAR, never downloaded.

Each record is its label byte(s) and 3072 pixel bytes (the red, green and blue 32x32 planes).
The python versions of CIFAR are pickles, which genforge refuses to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from genforge.data.binary import open_data
from genforge.errors import DataError, one_line

if TYPE_CHECKING:
    import numpy as np

    from genforge.data.base import Data

#: Bytes of one image: 3 planes of 32x32.
PIXELS = 3 * 32 * 32
#: The largest class-names file read (the real ones are under 1 KB).
NAMES_MAX_BYTES = 1 << 16


@dataclass(frozen=True)
class Layout:
    """Where one CIFAR binary version keeps what, and how its records hold labels."""

    title: str
    folder: str  # as extracted
    archive: str  # the binary version to download
    train: tuple[str, ...]
    test: str
    label_bytes: int  # label bytes before the pixels of each record
    labels: dict[str, tuple[int, int, str]]  # kind: (byte of the record, classes, names file)
    python_folder: str  # the python version (pickles) as extracted
    python_files: tuple[str, ...]  # files that together mark a folder of it


CIFAR10 = Layout("CIFAR-10", "cifar-10-batches-bin", "cifar-10-binary.tar.gz",
                 tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin", 1,
                 {"fine": (0, 10, "batches.meta.txt")},
                 "cifar-10-batches-py", ("data_batch_1",))
CIFAR100 = Layout("CIFAR-100", "cifar-100-binary", "cifar-100-binary.tar.gz", ("train.bin",),
                  "test.bin", 2,
                  {"coarse": (0, 20, "coarse_label_names.txt"), "fine": (1, 100, "fine_label_names.txt")},
                  "cifar-100-python", ("train", "meta"))


class Cifar10Config(BaseModel):
    """Options of the ``cifar10`` data source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., description="the extracted binary version's folder (cifar-10-batches-bin "
                                       "or cifar-100-binary) or the folder holding it")
    size: int | None = Field(None, gt=0, description="image side; null keeps the files' (32); "
                                                      "others are resized (bilinear)")
    flip: bool = Field(True, description="mirror each training image left to right with "
                                         "probability 1/2 (photos stay photos)")


class Cifar100Config(Cifar10Config):
    """Options of the ``cifar100`` data source."""

    labels: Literal["fine", "coarse"] = Field("fine", description="the 100 fine classes or the "
                                                                  "20 coarse superclasses")


def find_folder(root: Path, layout: Layout) -> Path:
    """The folder holding ``layout``'s files: ``root`` or ``root/<as extracted>``."""
    where = f"data.path {str(root)!r}"
    if root.is_file() and root.name.endswith((".tar.gz", ".tgz", ".tar")):
        raise DataError(f"{where}: an archive; extract it (tar xzf) and give the {layout.folder} "
                        "folder")
    if not root.is_dir():
        raise DataError(f"{where}: {'not a folder' if root.exists() else 'no such folder'}; give "
                        f"the {layout.folder} folder")
    for folder in (root, root / layout.folder):
        if (folder / layout.test).exists() or (folder / layout.train[0]).exists():
            return folder
    if root.name == layout.python_folder or (root / layout.python_folder).is_dir() or \
            all((root / name).is_file() for name in layout.python_files):
        raise DataError(f"{where}: holds {layout.title}'s python version, whose files are "
                        f"pickles, which genforge never loads; download the binary version "
                        f"({layout.archive}) and give its {layout.folder} folder")
    listed = ", ".join((*layout.train, layout.test))
    raise DataError(f"{where}: no {layout.title} binary files ({listed}) in it or in its "
                    f"{layout.folder} folder")


def class_names(folder: Path, file: str, count: int) -> tuple[str, ...]:
    """The names in ``folder/file`` (one per line, blank lines ignored), else ``0..count-1``."""
    from genforge.files import regular_file

    path = folder / file
    if not path.exists():
        return tuple(str(i) for i in range(count))
    regular_file(path, "class-names file", DataError)
    if path.stat().st_size > NAMES_MAX_BYTES:
        raise DataError(f"{path}: larger than {NAMES_MAX_BYTES} bytes; it names one class a line")
    try:
        names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                      if line.strip())
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot be read as text ({one_line(e)})") from e
    if len(names) != count or not all(n.isprintable() for n in names):
        raise DataError(f"{path}: names {len(names)} classes, one a line, expected {count} "
                        "printable names")
    return names


def read_records(paths: list[Path], layout: Layout, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 3, 32, 32]`` (uint8) and labels (int64) of the records in ``paths``."""
    import numpy as np

    from genforge.files import regular_file

    record = layout.label_bytes + PIXELS
    sizes = [regular_file(p, f"{layout.title} batch file", DataError).stat().st_size for p in paths]
    for path, size in zip(paths, sizes, strict=True):
        if size == 0 or size % record:
            label = "1 label byte" if layout.label_bytes == 1 else f"{layout.label_bytes} label bytes"
            raise DataError(f"{path}: {size} bytes is not a whole number of {record}-byte records "
                            f"({label} and {PIXELS} pixel bytes): truncated, or not this version "
                            "of CIFAR")
    x = np.empty((sum(sizes) // record, PIXELS), dtype=np.uint8)
    labels = np.empty(len(x), dtype=np.int64)
    start = 0
    for path, size in zip(paths, sizes, strict=True):
        with open_data(path) as f:
            rows = f.read_array(size, "records").reshape(-1, record)
            f.expect_end("records")
        for which, (byte, count, _) in layout.labels.items():
            bad = np.flatnonzero(rows[:, byte] >= count)
            if len(bad):
                i = int(bad[0])
                title = f"{which} label" if len(layout.labels) > 1 else "label"
                raise DataError(f"{path}: record {i} has {title} {int(rows[i, byte])}; "
                                f"{layout.title} {title}s are 0..{count - 1}")
        x[start: start + len(rows)] = rows[:, layout.label_bytes:]
        labels[start: start + len(rows)] = rows[:, layout.labels[kind][0]]
        start += len(rows)
    return x.reshape(-1, 3, 32, 32), labels


def load_layout(config: Cifar10Config, layout: Layout, kind: str, name: str) -> Data:
    """Load a CIFAR binary version: uint8 ``[N, 3, S, S]`` images (float32 per batch), labels."""
    import torch

    from genforge.data.byte_images import byte_image_data, resized

    folder = find_folder(Path(config.path).expanduser(), layout)
    splits = []
    for files in (layout.train, (layout.test,)):
        x, y = read_records([folder / f for f in files], layout, kind)
        splits.append((resized(torch.from_numpy(x), config.size), torch.from_numpy(y)))
    _, count, names_file = layout.labels[kind]
    return byte_image_data(name, splits[0], splits[1], class_names(folder, names_file, count),
                           flip=config.flip)


def load_cifar10(config: Cifar10Config) -> Data:
    """Load CIFAR-10's binary version (``data_batch_1..5.bin``, ``test_batch.bin``)."""
    return load_layout(config, CIFAR10, "fine", "cifar10")


def load_cifar100(config: Cifar100Config) -> Data:
    """Load CIFAR-100's binary version (``train.bin``, ``test.bin``) with fine or coarse labels."""
    return load_layout(config, CIFAR100, config.labels, "cifar100")
