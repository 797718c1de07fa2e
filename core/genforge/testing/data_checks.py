"""Checks on a data source: its splits match its ``DataInfo``, are seeded, and keep train and test apart."""

from __future__ import annotations

import hashlib

import torch
from torch.utils.data import Dataset

from genforge.data.base import Data
from genforge.data.checks import SAMPLE, data_problems
from genforge.testing.plugin_checks import check_config_json
from genforge.testing.results import ConformanceError, NotApplicable
from genforge.testing.subject import DataSubject


def _data(subject: DataSubject, seed: int = 0) -> Data:
    """Run the source with torch's global RNG seeded by ``seed`` (restored afterwards)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        data = subject.run()
    if not isinstance(data, Data):
        raise ConformanceError(f"data source {subject.name!r} returned {type(data).__name__}. "
                               "Fix: return genforge.Data(train, test, info)")
    return data


def _rows(split: Dataset) -> list[tuple[bytes, bytes]]:
    """Each sample (and label) of a split as bytes, for comparing splits."""
    out = []
    for i in range(len(split)):  # type: ignore[arg-type]
        x, y = split[i]
        label = b"" if y is None else torch.as_tensor(y).numpy().tobytes()
        out.append((torch.as_tensor(x).float().numpy().tobytes(), label))
    return out


def check_data_config_round_trips(subject: DataSubject) -> None:
    """The ``[data]`` config class builds from defaults and round-trips through JSON."""
    check_config_json(subject.entry.config_cls, subject.config(), "data")


def check_splits_match_info(subject: DataSubject) -> None:
    """Both splits match the ``DataInfo``: shape, dtype, value range, labels, class names, counts."""
    problems = data_problems(_data(subject))
    if problems:
        raise ConformanceError(f"data source {subject.name!r}: " + "; ".join(problems) +
                               ". Fix: make the tensors and the DataInfo agree")


def check_same_seed_same_splits(subject: DataSubject) -> None:
    """The same config gives the same splits, whatever the state of torch's global RNG."""
    first, second = _data(subject, seed=1), _data(subject, seed=2)
    for which in ("train", "test"):
        a, b = getattr(first, which), getattr(second, which)
        if (a is None) != (b is None) or (a is not None and _rows(a) != _rows(b)):
            raise ConformanceError(f"data source {subject.name!r}: two runs with the same config gave "
                                   f"different {which} splits. Fix: draw all randomness from a "
                                   "generator seeded by the config (e.g. a split_seed option)")
    if first.info != second.info:
        raise ConformanceError(f"data source {subject.name!r}: two runs gave different DataInfo: "
                               f"{first.info} and {second.info}. Fix: derive DataInfo from the config")


def check_held_out_is_disjoint(subject: DataSubject) -> None:
    """No held-out sample is also a training sample (first samples of each split compared)."""
    data = _data(subject)
    if data.test is None:
        raise NotApplicable(f"data source {subject.name!r} has no held-out split with these options")
    train = {hashlib.sha1(x).digest() for x, _ in _rows(data.train)}
    shared = sum(hashlib.sha1(x).digest() in train for x, _ in _rows(data.test)[:SAMPLE])
    if shared:
        raise ConformanceError(f"data source {subject.name!r}: {shared} held-out samples are also in "
                               "the training split. Fix: split by index before any augmentation, so "
                               "that each sample lands in one split")
