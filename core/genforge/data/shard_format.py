"""The shards folder that ``genforge data pack`` writes and the ``shards`` source reads (no torch here).

The layout is WebDataset's, which webdataset, DALI and Ray Data read::

    DIR/train-000000.tar, DIR/train-000001.tar, ...   the training split
    DIR/test-000000.tar, ...                          the held-out split (when there is one)
    DIR/info.json                                     the DataInfo and each shard's sample count

Each tar holds samples as groups of consecutive members sharing a key: ``000123.png`` (an
image) or ``000123.npy`` (a vector or signal), and ``000123.cls`` (its label) for labelled data.
Shard names in ``info.json`` are plain names matching ``SHARD_NAME``: they stay in the folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge.data.info import DataInfo
from genforge.errors import DataError, one_line, shown
from genforge.files import regular_file

INFO = "info.json"
#: ``info.json``'s ``format`` and the version this release writes and reads.
FORMAT = "genforge-shards"
VERSION = 1
SPLITS = ("train", "test")
SHARD_NAME = re.compile(r"(train|test)-\d{6,}\.tar")
#: Image channels a PNG member holds: grayscale or RGB.
PNG_CHANNELS = (1, 3)
#: Samples per shard that ``genforge data pack`` writes unless ``--shard-size`` says otherwise.
DEFAULT_SHARD_SIZE = 1000
#: The largest ``info.json`` read (a million shards fit).
MAX_INFO_BYTES = 64 << 20


def shard_name(split: str, index: int) -> str:
    """The file name of shard ``index`` of ``split``: ``train-000000.tar``."""
    return f"{split}-{index:06d}.tar"


@dataclass(frozen=True)
class Shard:
    """One tar file of a split and the samples it holds."""

    name: str
    samples: int


@dataclass(frozen=True)
class ShardList:
    """What ``info.json`` says: the data's ``DataInfo`` and the shards of each split, in order."""

    info: DataInfo
    train: tuple[Shard, ...]
    test: tuple[Shard, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The content of ``info.json``."""
        return {"format": FORMAT, "version": VERSION, "data_info": self.info.to_dict(),
                "shards": {split: [{"file": s.name, "samples": s.samples} for s in getattr(self, split)]
                           for split in SPLITS}}


def read_info(folder: Path) -> ShardList:
    """Read and check ``folder/info.json`` and that its shards are files of the folder; one-line errors."""
    where = f"data.path {str(folder)!r}"
    if not folder.exists():
        raise DataError(f"{where}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{where}: not a folder (expected one written by genforge data pack)")
    path = folder / INFO
    if not path.exists():
        raise DataError(f"{where}: no {INFO}; not a folder written by genforge data pack, or its pack "
                        "did not finish (run it again)")
    regular_file(path, INFO, DataError)
    try:
        with path.open("rb") as f:
            text = f.read(MAX_INFO_BYTES + 1)
        if len(text) > MAX_INFO_BYTES:
            raise DataError(f"{path}: larger than {MAX_INFO_BYTES >> 20} MiB")
        raw = json.loads(text)
    except (OSError, ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError
        raise DataError(f"{path}: not readable JSON ({one_line(e)})") from None
    shards = _checked(raw, path)
    for shard in (*shards.train, *shards.test):
        regular_file(folder / shard.name, f"shard listed in {INFO}", DataError)
    return shards


def _checked(raw: object, path: Path) -> ShardList:
    """``info.json``'s content as a ``ShardList``, or a ``DataError`` naming the field."""
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    if raw.get("format") != FORMAT:
        raise DataError(f"{path}: format = {shown(raw.get('format'))}, expected {FORMAT!r}")
    version = raw.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise DataError(f"{path}: version {version} is newer than this genforge reads ({VERSION}); "
                        "upgrade genforge")
    if version != VERSION:
        raise DataError(f"{path}: version = {shown(version)}, expected {VERSION}")
    try:
        info = DataInfo.from_dict(raw.get("data_info"))
    except ValueError as e:
        raise DataError(f"{path}: {e}") from None
    if info.kind == "image" and info.shape[0] not in PNG_CHANNELS:
        raise DataError(f"{path}: data_info.shape {list(info.shape)}: PNG members hold 1 or 3 channels")
    lists = raw.get("shards")
    if not isinstance(lists, dict) or set(lists) - set(SPLITS):
        raise DataError(f"{path}: shards = {shown(lists)}, expected an object with the lists "
                        "'train' and 'test'")
    splits = {split: _shard_list(lists.get(split, []), split, path) for split in SPLITS}
    if not splits["train"]:
        raise DataError(f"{path}: shards.train is empty; a training split needs a shard")
    for split, count in (("train", info.num_train), ("test", info.num_test)):
        held = sum(s.samples for s in splits[split])
        if held != count:
            raise DataError(f"{path}: data_info.num_{split} = {count}, but its {split} shards hold "
                            f"{held} samples")
    return ShardList(info, splits["train"], splits["test"])


def _shard_list(entries: object, split: str, path: Path) -> tuple[Shard, ...]:
    """The ``shards.SPLIT`` list of ``info.json``: plain file names of that split, unique, counts >= 1."""
    where = f"{path}: shards.{split}"
    if not isinstance(entries, list):
        raise DataError(f"{where} = {shown(entries)}, expected a list")
    shards = []
    for i, entry in enumerate(entries):
        name = entry.get("file") if isinstance(entry, dict) else None
        samples = entry.get("samples") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not SHARD_NAME.fullmatch(name) or not name.startswith(f"{split}-"):
            raise DataError(f"{where}[{i}].file = {shown(name)}, expected a name such as "
                            f"{shard_name(split, i)!r} (a file of the folder)")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise DataError(f"{where}[{i}].samples = {shown(samples)}, expected a count of at least 1")
        shards.append(Shard(name, samples))
    names = [s.name for s in shards]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{where}: lists {twice!r} twice")
    return tuple(shards)
