"""The ``shards`` source's splits: the training split streamed epoch by epoch, the held-out one in memory.

Each epoch the training shards are put in an order seeded by (seed, epoch); process ``rank`` of
``world`` takes every ``world``-th shard of it, and its stream ``s`` (one per DataLoader worker)
every ``streams``-th of those. A stream reads its shards in turn through a shuffle buffer
seeded by (seed, epoch, rank, stream) and cuts the samples into batches; what a stream holds
short of a whole batch is dropped. Every process takes the same number of batches in an epoch,
the most that the process with the fewest samples fills (DDP would wait forever on a process
that ran out); its streams fill that count round robin, and the rest of the epoch's samples of
a process are dropped. The order changes every epoch, so each epoch drops other samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from genforge.data.base import TensorData
from genforge.data.info import DataInfo
from genforge.data.shard_format import Shard
from genforge.data.shard_tar import RawSample, decode, read_samples
from genforge.data.stream import Epoch, Reader, StoredBatch, StreamedSplit, delivered
from genforge.errors import DataError
from genforge_runtime.sizes import check_memory


def _samples(folder: Path, shards: tuple[Shard, ...], info: DataInfo) -> Iterator[RawSample]:
    """The samples of ``shards`` in turn, as stored."""
    for shard in shards:
        yield from read_samples(folder / shard.name, shard.samples, info)


def _tensors(raws: list[RawSample], info: DataInfo) -> StoredBatch:
    """Decoded samples stacked: uint8 pixels or float32 values, and int64 labels (None when unlabelled)."""
    decoded = [decode(raw, info) for raw in raws]
    x = torch.from_numpy(np.stack([x for x, _ in decoded]))
    return x, (torch.tensor([y for _, y in decoded], dtype=torch.long) if info.num_classes else None)


def _floats(x: torch.Tensor) -> torch.Tensor:
    """Stored samples as float32: pixels scaled to [0, 1], as ``TensorData`` does."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def in_memory(folder: Path, shards: tuple[Shard, ...], info: DataInfo) -> TensorData:
    """A split read whole into memory (images stay uint8), its size checked against memory first."""
    n = sum(s.samples for s in shards)
    check_memory(f"the {n} samples of {folder}/{shards[0].name} ...", n, info.shape,
                 itemsize=1 if info.kind == "image" else 4)
    x, y = _tensors(list(_samples(folder, shards, info)), info)
    return TensorData(x, y, as_bytes=x.dtype == torch.uint8)


def _shuffled(raws: Iterator[RawSample], rng: np.random.Generator, size: int) -> Iterator[RawSample]:
    """``raws`` through a shuffle buffer of ``size`` samples (``0``: in order)."""
    if size == 0:
        yield from raws
        return
    buffer: list[RawSample] = []
    for raw in raws:
        if len(buffer) < size:
            buffer.append(raw)
            continue
        j = int(rng.integers(size))
        yield buffer[j]
        buffer[j] = raw
    yield from (buffer[i] for i in rng.permutation(len(buffer)))


class ShardEpoch(Epoch):
    """One epoch of the training shards as one process reads it."""

    def __init__(self, split: ShardSplit, seed: int, epoch: int, reader: Reader) -> None:
        counts = [s.samples for s in split.shards]
        order = np.random.default_rng([seed, epoch]).permutation(len(counts))
        # streams[r][s]: the shards of stream s of process r
        streams = [[own[s::reader.streams] for s in range(reader.streams)]
                   for own in (order[r::reader.world] for r in range(reader.world))]
        caps = [tuple(sum(counts[i] for i in shards) // reader.batch for shards in process)
                for process in streams]
        mine = caps[reader.rank]
        self.quotas = tuple(delivered(mine, min(sum(c) for c in caps)))
        self.split, self.reader = split, reader
        self.shards = [tuple(split.shards[i] for i in shards) for shards in streams[reader.rank]]
        self.seeds = [[seed, epoch, reader.rank, s] for s in range(reader.streams)]

    def stream(self, s: int, skip: int) -> Iterator[StoredBatch]:
        """The batches of stream ``s`` after its first ``skip``, read past without decoding."""
        split, batch = self.split, self.reader.batch
        raws = _shuffled(_samples(split.folder, self.shards[s], split.info),
                         np.random.default_rng(self.seeds[s]), split.buffer)
        for k in range(self.quotas[s]):
            taken = list(islice(raws, batch))
            if len(taken) < batch:
                raise DataError(f"{split.folder}: stream {s} ran out of samples at batch {k}; its shards "
                                "hold fewer than info.json says")
            if k >= skip:
                yield _tensors(taken, split.info)


class ShardSplit(StreamedSplit):
    """The training shards of a folder written by ``genforge data pack``."""

    def __init__(self, folder: Path, shards: tuple[Shard, ...], info: DataInfo, buffer: int) -> None:
        self.folder, self.shards, self.info, self.buffer = folder, shards, info, buffer

    def __len__(self) -> int:
        return sum(s.samples for s in self.shards)

    def rows(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Every sample in stored order: float32 (images in [0, 1]) and its label."""
        for raw in _samples(self.folder, self.shards, self.info):
            x, y = _tensors([raw], self.info)
            yield _floats(x[0]), (y[0] if y is not None else None)

    def epoch(self, seed: int, epoch: int, reader: Reader) -> ShardEpoch:
        """Epoch ``epoch`` of a run seeded ``seed``, as ``reader`` reads it."""
        return ShardEpoch(self, seed, epoch, reader)
