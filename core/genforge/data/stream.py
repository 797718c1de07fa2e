"""Streamed training splits: the contract, each epoch's batches read by DataLoader workers, the position.

A streamed split (the ``shards`` source's) is read from storage as training goes, never held in
memory. Each epoch it is divided among the processes and, within a process, into ``streams``:
one per DataLoader worker, or one read in the training process when ``trainer.workers`` is 0
(so 0 and 1 worker read the same batches).
Stream ``s`` delivers ``quotas[s]`` batches and the batches are taken from the streams round
robin, skipping streams that are done, which is the order in which a DataLoader hands on its
workers' batches. The batches of an epoch are a pure function of the seed, the epoch and the
``Reader``, so where a run stands is two numbers, ``DataPosition(epoch, batch)``: a resumed run
asks each stream to skip what it had delivered and goes on as if never stopped.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from genforge.errors import CheckpointError, DataError, GenforgeError

#: A batch as a stream delivers it: samples as stored (uint8 pixels or float32) and int64 labels.
StoredBatch = tuple[torch.Tensor, torch.Tensor | None]


@dataclass(frozen=True)
class Reader:
    """Who reads: process ``rank`` of ``world``, in ``streams`` streams of batches of ``batch`` samples."""

    rank: int = 0
    world: int = 1
    streams: int = 1
    batch: int = 1


class Epoch(ABC):
    """One epoch of a streamed split as one process reads it: ``quotas[s]`` batches from stream ``s``."""

    quotas: tuple[int, ...]

    @property
    def batches(self) -> int:
        """The batches this process takes in the epoch (the same on every process)."""
        return sum(self.quotas)

    @abstractmethod
    def stream(self, s: int, skip: int) -> Iterator[StoredBatch]:
        """The batches of stream ``s`` after its first ``skip`` (read past, not decoded)."""


class StreamedSplit(Dataset, ABC):
    """A training split read from storage as training goes (``len`` is its sample count)."""

    @abstractmethod
    def __len__(self) -> int:
        """The samples of the split."""

    @abstractmethod
    def rows(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Every sample in stored order: float32 (images in [0, 1]) and its label (None when unlabelled)."""

    @abstractmethod
    def epoch(self, seed: int, epoch: int, reader: Reader) -> Epoch:
        """Epoch ``epoch`` of a run seeded ``seed``, as ``reader`` reads it."""

    def head(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The first ``n`` samples in stored order, stacked (labels None when unlabelled)."""
        rows = list(islice(self.rows(), n))
        ys = [y for _, y in rows if y is not None]
        return torch.stack([x for x, _ in rows]), (torch.stack(ys) if ys else None)


def schedule(quotas: tuple[int, ...]) -> list[int]:
    """The stream of each batch: round robin over the streams, skipping those that delivered their quota."""
    left, order = list(quotas), []
    while any(left):
        for s, n in enumerate(left):
            if n:
                order.append(s)
                left[s] -= 1
    return order


def delivered(quotas: tuple[int, ...], start: int) -> list[int]:
    """The batches each stream delivered among the epoch's first ``start``."""
    done = [0] * len(quotas)
    for s in schedule(quotas)[:start]:
        done[s] += 1
    return done


def turn(quotas: tuple[int, ...], start: int) -> int:
    """The stream whose turn comes after the epoch's first ``start`` batches (round robin goes on from it)."""
    return (schedule(quotas)[start - 1] + 1) % len(quotas) if start else 0


@dataclass
class DataPosition:
    """Where a run stands in a streamed split: the next batch is ``batch`` of ``epoch``.

    ``plan`` is what the epoch's order depends on besides the seed (processes, streams, batch,
    samples); a resumed run reading with another plan starts the next epoch.
    """

    epoch: int = 0
    batch: int = 0
    plan: dict[str, int] = field(default_factory=dict)

    def state(self) -> dict[str, Any]:
        """The position as JSON-ready data for the training state."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: object, where: str) -> DataPosition:
        """A position read back from a training state; a ``CheckpointError`` when it is malformed."""
        def count(value: object) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62

        plan = state.get("plan") if isinstance(state, dict) else None
        if not isinstance(state, dict) or set(state) != {"epoch", "batch", "plan"} or \
                not count(state["epoch"]) or not count(state["batch"]) or not isinstance(plan, dict) or \
                not all(isinstance(k, str) and count(v) for k, v in plan.items()):
            raise CheckpointError(f"{where}: training state: data position {state!r:.120} is not "
                                  "{epoch, batch, plan} of counts")
        return cls(state["epoch"], state["batch"], dict(plan))


@dataclass(frozen=True)
class _Failure:
    """A worker's one-line error, handed to the training process as a batch would be."""

    message: str


class _Streams(IterableDataset):
    """An epoch's streams from batch ``start``: one per DataLoader worker, or all in the training process.

    Worker ``w`` reads stream ``(turn + w) % streams``: the DataLoader's round robin over its
    workers, which starts at worker 0, then goes on with the stream whose turn it is.
    """

    def __init__(self, epoch: Epoch, start: int) -> None:
        quotas = epoch.quotas
        self.epoch, self.skips, first = epoch, delivered(quotas, start), turn(quotas, start)
        self.order = [(first + w) % len(quotas) for w in range(len(quotas))]

    def __iter__(self) -> Iterator[StoredBatch | _Failure]:
        worker = get_worker_info()
        if worker is not None:
            s = self.order[worker.id]
            try:
                yield from self.epoch.stream(s, self.skips[s])
            except GenforgeError as e:
                yield _Failure(str(e))
            return
        streams = [self.epoch.stream(s, self.skips[s]) for s in self.order]
        left = [self.epoch.quotas[s] - self.skips[s] for s in self.order]
        while any(left):
            for w, stream in enumerate(streams):
                if left[w]:
                    left[w] -= 1
                    yield next(stream)


def _as_is(item: Any) -> Any:
    """The DataLoader's collate function: workers deliver whole batches."""
    return item


def stream_batches(split: StreamedSplit, seed: int, reader: Reader, workers: int, position: DataPosition,
                   device: torch.device) -> Iterator[StoredBatch]:
    """Batches on ``device`` (images as float32 in [0, 1]) from ``position`` on, epoch after epoch.

    ``position`` always names the next batch, so a checkpoint taken between batches records it.
    """
    plan = {"world": reader.world, "streams": reader.streams, "batch": reader.batch, "samples": len(split)}
    if position.plan and position.plan != plan:
        warnings.warn(f"the checkpoint's data position was taken reading with {position.plan}, this run "
                      f"reads with {plan}; the rest of epoch {position.epoch} is skipped", stacklevel=2)
        position.epoch, position.batch = position.epoch + (position.batch > 0), 0
    position.plan = plan
    while True:
        epoch = split.epoch(seed, position.epoch, reader)
        if epoch.batches == 0:
            raise DataError(f"trainer.batch_size = {reader.batch * reader.world}: no whole batch in epoch "
                            f"{position.epoch}: a process's shards ({reader.streams} streams) hold fewer "
                            "samples; pack smaller shards (--shard-size) or use fewer workers")
        if position.batch >= epoch.batches:
            raise CheckpointError(f"data position: batch {position.batch} of epoch {position.epoch}, which "
                                  f"has {epoch.batches} batches")
        source = _Streams(epoch, position.batch)
        items = iter(source) if workers == 0 else iter(DataLoader(
            source, batch_size=None, num_workers=workers, collate_fn=_as_is,
            generator=torch.Generator(), pin_memory=device.type == "cuda"))
        for item in items:
            if isinstance(item, _Failure):
                raise DataError(item.message)
            position.batch += 1
            if position.batch == epoch.batches:
                position.epoch, position.batch = position.epoch + 1, 0
            x, y = item
            x = x.to(device, non_blocking=True)
            yield (x.float().div_(255.0) if x.dtype == torch.uint8 else x), (y.to(device) if y is not None
                                                                             else None)
            if position.batch == 0:
                break
        else:
            raise DataError(f"epoch {position.epoch}: the streams ended at batch {position.batch} of "
                            f"{epoch.batches}")
