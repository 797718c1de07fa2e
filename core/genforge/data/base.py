"""What a data source returns: in-memory tensors plus ``DataInfo``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

from genforge.data.info import DataInfo
from genforge.errors import GenforgeError


class TensorData(Dataset):
    """A dataset held as one tensor of samples and an optional tensor of labels.

    The trainer batches these by indexing (no per-item collation), and can move
    them to the training device once. With ``as_bytes`` the samples are uint8
    pixels (0..255) kept as they are, in memory and on the device, and each batch
    (and ``x``) is float32 in [0, 1]: a quarter of the memory of float32 samples.
    ``on_disk`` samples are a memory-mapped file (``genforge.data.cache``): the
    trainer leaves them there and gathers each batch, instead of moving them whole.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None, as_bytes: bool = False,
                 on_disk: bool = False) -> None:
        if y is not None and len(y) != len(x):
            raise ValueError(f"labels ({len(y)}) and samples ({len(x)}) differ in length")
        if as_bytes and x.dtype != torch.uint8:
            raise ValueError(f"as_bytes takes uint8 samples, got {x.dtype}")
        self.as_bytes = as_bytes
        self.on_disk = on_disk
        self.stored = x.contiguous() if as_bytes else x.float().contiguous()
        self.y = y.long().contiguous() if y is not None else None

    @property
    def x(self) -> torch.Tensor:
        """All samples as float32 (a new tensor when they are held as bytes)."""
        return self._floats(self.stored)

    def _floats(self, x: torch.Tensor) -> torch.Tensor:
        """Stored samples as float32: bytes scaled to [0, 1], floats as they are."""
        return x.float().div_(255.0) if self.as_bytes else x

    def __len__(self) -> int:
        return len(self.stored)

    def __getitem__(self, i: int | slice | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Sample(s) ``i`` as float32 and their label(s) (None when unlabelled)."""
        return self._floats(self.stored[i]), (self.y[i] if self.y is not None else None)

    def batch(self, idx: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Samples ``idx`` as float32 on ``device`` (gathered where they are held, moved as stored)
        and their labels."""
        x = self._floats(self.stored[idx].to(device, non_blocking=True))
        return x, (self.y[idx].to(device) if self.y is not None else None)

    def to(self, device: torch.device | str) -> TensorData:
        """Return a copy on ``device`` (bytes stay bytes)."""
        return TensorData(self.stored.to(device), self.y.to(device) if self.y is not None else None,
                          as_bytes=self.as_bytes)


@dataclass
class Data:
    """A data source's result: training split, held-out split and their ``DataInfo``.

    ``flip``: the trainer mirrors each sample of a training batch left to right with probability 1/2
    (images only; ``genforge.augment.step_flips``); the held-out split is never flipped.
    """

    train: Dataset
    test: Dataset | None
    info: DataInfo
    flip: bool = False

    def tensors(self, split: str = "test", rows: torch.Tensor | slice | None = None,
                limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The samples (and labels) of ``split`` (``test``: the held-out one, or ``train``) as tensors.

        All of them, or only ``rows`` (read alone from a memory-mapped split); a streamed split
        gives its first ``limit`` samples as stored (and needs a ``limit``).
        """
        from genforge.data.stream import StreamedSplit

        ds = self.test if split == "test" else self.train
        if ds is None:
            raise GenforgeError(f"data source {self.info.name!r} has no {split} split")
        if isinstance(ds, StreamedSplit) and limit is not None:
            return ds.head(limit)
        if not isinstance(ds, TensorData):
            raise GenforgeError(f"data source {self.info.name!r}: its {split} split is "
                                f"{type(ds).__name__}; this needs an in-memory one (TensorData)")
        return (ds.x, ds.y) if rows is None else ds[rows]
