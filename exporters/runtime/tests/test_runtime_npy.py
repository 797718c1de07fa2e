"""Streaming .npy: the file equals np.save of the whole array, and a failure leaves nothing."""

from __future__ import annotations

import numpy as np
import pytest

import genforge_runtime
from genforge_runtime.cli import main
from genforge_runtime.npy import write_npy


def test_written_batch_by_batch_equals_one_save(tmp_path):
    x = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    write_npy(tmp_path / "a.npy", x.shape, np.float32, (x[i : i + 2] for i in range(0, 7, 2)))
    np.save(tmp_path / "b.npy", x)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


def test_a_failed_or_short_write_leaves_no_file(tmp_path):
    def broken():
        yield np.zeros((2, 3), np.float32)
        raise RuntimeError("the sampler failed")

    with pytest.raises(RuntimeError, match="the sampler failed"):
        write_npy(tmp_path / "a.npy", (4, 3), np.float32, broken())
    with pytest.raises(ValueError, match="2 rows were written for a \\[4, ...\\] array"):
        write_npy(tmp_path / "a.npy", (4, 3), np.float32, iter([np.zeros((2, 3), np.float32)]))
    assert list(tmp_path.iterdir()) == []


def test_genforge_run_streams_the_same_samples_as_sample(toy, tmp_path):
    out = tmp_path / "x.npy"
    assert main([str(toy), "-n", "50", "--seed", "5", "--batch-size", "7", "--out", str(out)]) == 0
    want = genforge_runtime.load(toy, device="cpu").sample(50, seed=5)
    assert np.array_equal(np.load(out), want)
