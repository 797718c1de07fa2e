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
    them to the training device once.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        if y is not None and len(y) != len(x):
            raise ValueError(f"labels ({len(y)}) and samples ({len(x)}) differ in length")
        self.x = x.float().contiguous()
        self.y = y.long().contiguous() if y is not None else None

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.x[i], (self.y[i] if self.y is not None else None)

    def to(self, device: torch.device | str) -> TensorData:
        """Return a copy on ``device``."""
        return TensorData(self.x.to(device), self.y.to(device) if self.y is not None else None)


@dataclass
class Data:
    """A data source's result: training split, held-out split and their ``DataInfo``."""

    train: Dataset
    test: Dataset | None
    info: DataInfo

    def tensors(self, split: str = "test") -> tuple[torch.Tensor, torch.Tensor | None]:
        """All samples (and labels) of ``split`` (``test``: the held-out one, or ``train``) as tensors."""
        ds = self.test if split == "test" else self.train
        if ds is None:
            raise GenforgeError(f"data source {self.info.name!r} has no {split} split")
        if not isinstance(ds, TensorData):
            raise GenforgeError(f"data source {self.info.name!r}: its {split} split is "
                                f"{type(ds).__name__}; this needs an in-memory one (TensorData)")
        return ds.x, ds.y
