"""``genforge data pack``: a data source's splits written as tar shards in the WebDataset layout.

Everything is written into a hidden folder beside ``--out`` (``.NAME.tmp-PID``), flushed to
disk and renamed to ``--out`` once whole (``genforge.files.new_folder``): a pack that is killed
leaves neither a shard nor ``info.json`` in ``--out``, and the next pack to the same folder
removes what it left. Images are stored as 8-bit PNG: uint8 pixels exactly, float ones
rounded to the nearest of 256 levels (``Packed.rounded`` says by how much at most).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from genforge.data.base import Data, TensorData
from genforge.data.info import DataInfo
from genforge.data.shard_format import DEFAULT_SHARD_SIZE, INFO, PNG_CHANNELS, Shard, ShardList, shard_name
from genforge.data.shard_tar import add_sample, encode
from genforge.data.stream import StreamedSplit
from genforge.errors import DataError
from genforge.files import new_folder

#: Samples converted at once.
CHUNK = 1024
#: A float pixel this close to a level k / 255 is that level (float32 holds k / 255 only so closely).
EXACT = 1e-6


@dataclass(frozen=True)
class Packed:
    """What a pack wrote: its shards, its size on disk, and the largest change rounding made (0: exact)."""

    shards: ShardList
    size: int
    rounded: float


def pack(data: Data, out: Path, shard_size: int = DEFAULT_SHARD_SIZE, progress: bool = True) -> Packed:
    """Write the splits of ``data`` as shards of ``shard_size`` samples plus ``info.json`` to ``out`` (new).

    ``progress`` shows a bar (on a terminal).
    """
    from tqdm.auto import tqdm

    info = data.info
    if info.kind == "image" and info.shape[0] not in PNG_CHANNELS:
        raise DataError(f"{info.name or 'the data'}: {info.shape[0]}-channel images; PNG shards hold "
                        "grayscale (1) or RGB (3) images")
    splits = {"train": data.train, "test": data.test}
    total = sum(len(s) for s in splits.values() if s is not None)  # type: ignore[arg-type,misc]
    rounded, written = 0.0, {}
    with new_folder(out) as folder, tqdm(total=total, unit="sample", desc="pack",
                                         disable=None if progress else True) as bar:
        for name, split in splits.items():
            written[name], change = _write_split(folder, name, split, info, shard_size, bar.update)
            rounded = max(rounded, change)
        counts = {name: sum(s.samples for s in shards) for name, shards in written.items()}
        shards = ShardList(replace(info, num_train=counts["train"], num_test=counts["test"]),
                           written["train"], written["test"])
        (folder / INFO).write_text(json.dumps(shards.to_json(), indent=1) + "\n")
    return Packed(shards, sum(p.stat().st_size for p in out.iterdir()), rounded)


def _write_split(folder: Path, name: str, split: Dataset | None, info: DataInfo, shard_size: int,
                 advance: Callable[[int], object]) -> tuple[tuple[Shard, ...], float]:
    """Write one split's shards; return them and the largest rounding change."""
    if split is None:
        return (), 0.0
    rounded = [0.0]

    def samples() -> Iterator[tuple[np.ndarray, int | None]]:
        for x, y, change in _chunks(split, info):
            rounded[0] = max(rounded[0], change)
            yield from ((x[i], int(y[i]) if y is not None else None) for i in range(len(x)))
            advance(len(x))

    stream, index = samples(), 0
    shards: list[Shard] = []
    while part := list(islice(stream, shard_size)):
        shard = Shard(shard_name(name, len(shards)), len(part))
        with tarfile.open(folder / shard.name, "w", format=tarfile.PAX_FORMAT) as tar:
            for x, label in part:
                add_sample(tar, f"{index:06d}", encode(x, label, info))
                index += 1
        shards.append(shard)
    return tuple(shards), rounded[0]


def _chunks(split: Dataset, info: DataInfo) -> Iterator[tuple[np.ndarray, np.ndarray | None, float]]:
    """A split's samples in chunks as shards store them (uint8 pixels or float32), labels, rounding."""
    labelled = info.num_classes > 0
    if isinstance(split, TensorData):
        parts: Iterator[tuple[torch.Tensor, torch.Tensor | None]] = (
            (split.stored[i: i + CHUNK], split.y[i: i + CHUNK] if split.y is not None else None)
            for i in range(0, len(split), CHUNK))
    else:
        rows = split.rows() if isinstance(split, StreamedSplit) else \
            (split[i] for i in range(len(split)))  # type: ignore[arg-type]
        parts = ((torch.stack([torch.as_tensor(x) for x, _ in chunk]),
                  torch.stack([torch.as_tensor(y) for _, y in chunk]) if labelled else None)
                 for chunk in iter(lambda: list(islice(rows, CHUNK)), []))
    for x, y in parts:
        stored, change = _as_stored(x, info)
        yield stored, (y.long().numpy() if labelled and y is not None else None), change


def _as_stored(x: torch.Tensor, info: DataInfo) -> tuple[np.ndarray, float]:
    """Samples as shards store them: images as uint8 (floats in [0, 1] rounded to 1/255), else float32."""
    if info.kind != "image":
        return x.float().numpy(), 0.0
    if x.dtype == torch.uint8:
        return x.numpy(), 0.0
    levels = (x.float() * 255.0).round_().clamp_(0, 255)
    change = float((levels / 255.0 - x.float()).abs().max()) if len(x) else 0.0
    return levels.to(torch.uint8).numpy(), change if change > EXACT else 0.0
