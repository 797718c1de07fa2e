"""The ``mnist`` data source: IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST), plain or ``.gz``.

A set is ``train-images-idx3-ubyte`` with ``train-labels-idx1-ubyte`` and, for the held-out
split, ``t10k-*`` (or ``test-*``), all with one file-name prefix: none for MNIST, Fashion-MNIST
and KMNIST, ``emnist-balanced-`` (and so on) for EMNIST. Nothing is downloaded.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from genforge.data.binary import open_data
from genforge.errors import DataError, one_line

if TYPE_CHECKING:
    import numpy as np

    from genforge.data.base import Data

#: An IDX file name: prefix, split, and which half of the pair (``.idx3`` for Kaggle's copies).
FILE_NAME = re.compile(r"(?P<prefix>.*?)(?P<split>train|t10k|test)-"
                       r"(?P<part>images[-.]idx3|labels[-.]idx1)-ubyte(?:\.gz)?")
#: IDX type codes (the third byte of the magic number).
TYPE_CODES = {0x08: "unsigned bytes", 0x09: "signed bytes", 0x0B: "16-bit integers",
              0x0C: "32-bit integers", 0x0D: "32-bit floats", 0x0E: "64-bit floats"}
#: Classes when neither ``data.class_names`` nor an EMNIST mapping file names them.
DEFAULT_CLASSES = tuple(str(i) for i in range(10))
#: The largest EMNIST mapping file read (the real ones are under 1 KB).
MAPPING_MAX_BYTES = 1 << 16


class MnistConfig(BaseModel):
    """Options of the ``mnist`` data source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., description="folder holding train-images-idx3-ubyte and "
                                       "train-labels-idx1-ubyte (t10k-*: held-out), plain or .gz")
    variant: str | None = Field(
        None, description="file-name prefix of the set, e.g. emnist-balanced for "
                          "emnist-balanced-train-images-idx3-ubyte.gz; null: the only set there")
    size: int | None = Field(None, gt=0, description="image side; null keeps the files' (28); "
                                                      "others are resized (bilinear)")
    transpose: bool | None = Field(
        None, description="swap rows and columns; null: true for EMNIST (stored transposed)")
    class_names: list[str] | None = Field(
        None, min_length=1, description="names of the classes, their count the number of classes; "
                                        "null: EMNIST's mapping file when there, else 0 to 9")
    flip: bool = Field(False, description="mirror each training image left to right with "
                                          "probability 1/2; off: a flipped digit or letter is wrong "
                                          "(on suits Fashion-MNIST)")


def read_idx(path: Path, dims: int, what: str) -> np.ndarray:
    """The uint8 array of an IDX file with ``dims`` dimensions (``DataError`` naming the file)."""
    with open_data(path) as f:
        magic = f.read(4, "header")
        if magic[:2] != b"\0\0":
            hint = " (it is gzip-compressed: name it .gz)" if magic[:2] == b"\x1f\x8b" else ""
            raise f.error(f"magic number 0x{magic.hex()} is not an IDX header (0x0000, a type "
                          f"code, the number of dimensions){hint}")
        code, ndim = magic[2], magic[3]
        if code != 0x08:
            kind = TYPE_CODES.get(code, "an unknown type")
            raise f.error(f"holds {kind} (type code 0x{code:02x}); {what} files hold unsigned "
                          "bytes (0x08)")
        if ndim != dims:
            raise f.error(f"has {ndim} dimensions; {what} files have {dims}")
        shape = struct.unpack(f">{dims}I", f.read(4 * dims, "header"))
        if 0 in shape:
            raise f.error(f"declares the shape {list(shape)}: no {what}")
        data = f.read_array(math.prod(shape), what)
        f.expect_end(what)
    return data.reshape(shape)


def find_set(folder: Path, variant: str | None) -> tuple[str, dict[tuple[str, str], Path]]:
    """The chosen set's prefix and its files by (``train`` or ``test``, ``images`` or ``labels``)."""
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
    except OSError as e:
        raise DataError(f"data.path {str(folder)!r}: cannot list ({e.strerror})") from None
    sets: dict[str, dict[tuple[str, str], Path]] = {}
    # t10k before test, the plain file before its .gz: the first one found is kept
    for name in sorted(names, key=lambda n: ("test-" in n, n.endswith(".gz"))):
        if (m := FILE_NAME.fullmatch(name)) is not None:
            key = ("train" if m["split"] == "train" else "test", m["part"][:6])
            sets.setdefault(m["prefix"], {}).setdefault(key, folder / name)
    complete = sorted(p for p, files in sets.items() if ("train", "images") in files)
    listed = ", ".join(p.rstrip("-") or "(no prefix)" for p in complete)
    if variant is not None:
        prefix = f"{variant.rstrip('-')}-" if variant.strip("-") else ""
        if prefix not in complete:
            raise DataError(f"data.variant {variant!r}: no {prefix}train-images-idx3-ubyte[.gz] in "
                            f"{str(folder)!r}; sets there: {listed or 'none'}")
    elif len(complete) == 1:
        prefix = complete[0]
    elif complete:
        raise DataError(f"data.path {str(folder)!r}: holds several IDX sets ({listed}); choose one "
                        "with data.variant")
    else:
        raise DataError(f"data.path {str(folder)!r}: no train-images-idx3-ubyte[.gz] (with "
                        "train-labels-idx1-ubyte[.gz]; t10k-* for the held-out split)")
    files = sets[prefix]
    for split in ("train", "test"):
        have = [files[(split, part)] for part in ("images", "labels") if (split, part) in files]
        if len(have) == 1:
            name = have[0].name.removesuffix(".gz")
            partner = (name.replace("images", "labels").replace("idx3", "idx1") if "images" in name
                       else name.replace("labels", "images").replace("idx1", "idx3"))
            raise DataError(f"{have[0]}: its partner {partner}[.gz] is missing")
    return prefix, files


def mapping(path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    """An EMNIST mapping file's class names and its table from file labels to class indices."""
    import numpy as np

    from genforge.files import regular_file

    regular_file(path, "mapping file", DataError)
    if path.stat().st_size > MAPPING_MAX_BYTES:
        raise DataError(f"{path}: larger than {MAPPING_MAX_BYTES} bytes; a mapping file has a "
                        "line per class")
    rows: dict[int, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot be read as text ({one_line(e)})") from e
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            label, *codes = (int(v) for v in line.split())
            name = "".join(chr(c) for c in codes)
        except (ValueError, OverflowError):
            name, label = "", -1
        if not 0 <= label <= 255 or not name.isprintable() or not name.strip() or label in rows:
            raise DataError(f"{path}: line {number} is not 'label code [code ...]' with a new "
                            "label 0..255 and printable character codes")
        rows[label] = name
    if not rows:
        raise DataError(f"{path}: names no classes")
    table = np.full(256, -1, dtype=np.int64)
    for index, label in enumerate(sorted(rows)):
        table[label] = index
    return tuple(rows[label] for label in sorted(rows)), table


def class_labels(y: np.ndarray, path: Path, table: np.ndarray | None, count: int,
                 hint: str) -> np.ndarray:
    """File labels as class indices 0..``count``-1 (via ``table`` when given), checked."""
    import numpy as np

    labels = table[y] if table is not None else y.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= count))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{path}: label {int(y[i])} (item {i}) is out of range: {count} classes; "
                        f"{hint}")
    return labels


def load(config: MnistConfig) -> Data:
    """Load an IDX set as uint8 ``[N, 1, S, S]`` images (float32 in [0, 1] per batch) and labels."""
    import numpy as np
    import torch

    from genforge.data.byte_images import byte_image_data, resized

    folder = Path(config.path).expanduser()
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise DataError(f"data.path {str(folder)!r}: {what}; give the folder holding "
                        "train-images-idx3-ubyte[.gz]")
    prefix, files = find_set(folder, config.variant)
    transpose = prefix.startswith("emnist") if config.transpose is None else config.transpose

    table = None
    if config.class_names is not None:
        names = tuple(config.class_names)
        hint = "data.class_names names fewer"
    elif (mapping_file := folder / f"{prefix}mapping.txt").exists():
        names, table = mapping(mapping_file)
        hint = f"{mapping_file.name} does not name it"
    else:
        names, hint = DEFAULT_CLASSES, "set data.class_names for more"

    splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    side: tuple[int, ...] = ()
    for split in ("train", "test"):
        if (split, "images") not in files:
            continue
        images, labels = files[(split, "images")], files[(split, "labels")]
        x = read_idx(images, 3, "images")
        y = read_idx(labels, 1, "labels")
        if len(y) != len(x):
            raise DataError(f"{labels}: holds {len(y)} labels but {images.name} holds {len(x)} images")
        if side and x.shape[1:] != side:
            got, want = (f"{a}x{b}" for a, b in (x.shape[1:], side))
            raise DataError(f"{images}: images are {got} but the training images are {want}")
        side = x.shape[1:]
        if transpose:
            x = np.ascontiguousarray(x.transpose(0, 2, 1))
        y = class_labels(y, labels, table, len(names), hint)
        splits[split] = (resized(torch.from_numpy(x)[:, None], config.size), torch.from_numpy(y))
    return byte_image_data(prefix.rstrip("-") or "mnist", splits["train"], splits.get("test"), names,
                           flip=config.flip)
