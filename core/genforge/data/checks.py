"""Running a data source and checking its splits against its ``DataInfo``.

The trainer (through ``genforge.build.load_data``) and the conformance kit both run a
source through ``run_source``: what the source says about its data (``DataInfo``) must be
what it returns, or training fails at load with one line naming the source, instead of
deep inside a model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from pydantic import BaseModel
from torch.utils.data import Dataset

from genforge.data.base import Data, TensorData
from genforge.data.info import DataInfo
from genforge.data.stream import StreamedSplit
from genforge.errors import DataError

if TYPE_CHECKING:
    from genforge.entries import DataSourceEntry

#: Samples whose values are checked against ``DataInfo.value_range`` (labels are all checked).
SAMPLE = 512
#: Slack on the value range for rounding (``1.0000001`` is still in ``[0, 1]``).
TOLERANCE = 1e-4


def _first(split: Dataset, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The first ``n`` samples (all labels, for a ``TensorData``) of a split; a streamed one's as stored."""
    if isinstance(split, TensorData):
        return split[:n][0], split.y
    if isinstance(split, StreamedSplit):
        return split.head(n)
    items = [split[i] for i in range(min(n, len(split)))]  # type: ignore[arg-type]
    xs = torch.stack([torch.as_tensor(x) for x, _ in items])
    ys = [y for _, y in items]
    return xs, (None if not ys or ys[0] is None else torch.stack([torch.as_tensor(y) for y in ys]))


def split_problems(split: Dataset, info: DataInfo, which: str) -> list[str]:
    """What in one split disagrees with ``info``: shape, dtype, value range, labels."""
    n = len(split)  # type: ignore[arg-type]
    if n == 0:
        return [f"{which} split is empty"]
    x, y = _first(split, SAMPLE)
    problems = []
    if tuple(x.shape[1:]) != tuple(info.shape):
        got = "x".join(map(str, x.shape[1:]))
        problems.append(f"{which} samples are {got} but DataInfo.shape is {tuple(info.shape)}")
    if not x.is_floating_point():
        problems.append(f"{which} samples are {x.dtype}, expected a floating-point dtype")
    elif not bool(torch.isfinite(x).all()):
        problems.append(f"{which} samples hold NaN or infinite values")
    elif info.value_range is not None:
        lo, hi = info.value_range
        got_lo, got_hi = float(x.min()), float(x.max())
        if got_lo < lo - TOLERANCE or got_hi > hi + TOLERANCE:
            problems.append(f"{which} values span [{got_lo:g}, {got_hi:g}] but DataInfo.value_range is "
                            f"[{lo:g}, {hi:g}] (scale them, e.g. divide 0..255 pixels by 255)")
    if info.num_classes > 0:
        if y is None:
            problems.append(f"{which} split has no labels but DataInfo.num_classes is {info.num_classes}")
        elif y.is_floating_point() or y.is_complex():
            problems.append(f"{which} labels are {y.dtype}, expected integers")
        elif len(y) and (int(y.min()) < 0 or int(y.max()) >= info.num_classes):
            problems.append(f"{which} labels span {int(y.min())}..{int(y.max())} but DataInfo.num_classes "
                            f"is {info.num_classes} (labels must be 0..{info.num_classes - 1})")
    return problems


def data_problems(data: Data) -> list[str]:
    """Everything in ``data`` that disagrees with its own ``DataInfo``; empty when all is well."""
    info = data.info
    problems = []
    dims = {"image": 3, "vector": 1, "signal": 2}.get(info.kind)
    if dims is None:
        problems.append(f"DataInfo.kind is {info.kind!r}, expected 'image', 'vector' or 'signal'")
    elif len(info.shape) != dims:
        problems.append(f"DataInfo.shape {tuple(info.shape)} has {len(info.shape)} dimensions; "
                        f"{info.kind} data has {dims}")
    if data.flip and info.kind != "image":
        problems.append(f"Data.flip is true but DataInfo.kind is {info.kind!r}; only images are flipped")
    if info.class_names and len(info.class_names) != info.num_classes:
        problems.append(f"DataInfo.class_names has {len(info.class_names)} names for "
                        f"num_classes = {info.num_classes}")
    for which, split, count in (("train", data.train, info.num_train), ("test", data.test, info.num_test)):
        if split is None:
            continue
        problems += split_problems(split, info, which)
        if count and count != len(split):  # type: ignore[arg-type]
            problems.append(f"DataInfo.num_{which} is {count} but the {which} split holds "
                            f"{len(split)} samples")  # type: ignore[arg-type]
    return problems


def run_source(entry: DataSourceEntry, config: BaseModel) -> Data:
    """Run a registered data source and check its result; a problem is a one-line ``DataError``."""
    where = f"data source {entry.name!r} ({entry.plugin.label})"
    try:
        data = entry.load()(config)
    except ValueError as e:  # the documented way for a source to reject its input
        raise DataError(f"{where}: {e}") from None
    if not isinstance(data, Data):
        raise DataError(f"{where} returned {type(data).__name__}, expected genforge.Data")
    problems = data_problems(data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(f"{where}: {problems[0]}{more}. Fix: make the source's tensors and its "
                        "DataInfo agree")
    return data
