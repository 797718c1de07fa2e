"""Noise drawn ahead on a worker thread: the same arrays in the same order, errors raised in the loop."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from forked import in_forked_child

from genforge_runtime.ahead import DrawAhead
from genforge_runtime.noise import NoiseStreams


def test_draws_ahead_are_the_draws_of_the_loop_in_order():
    streams, plain = NoiseStreams(5), NoiseStreams(5)
    streams.prepare_steps([0, 1, 2, 4])
    ahead = DrawAhead(streams.step_into, [0, 1, 2, 4], (4, 3))
    try:
        for j in (0, 1, 2, 4):
            np.testing.assert_array_equal(ahead.take(j), plain.step(j, (4, 3)))
        with pytest.raises(ValueError, match="in the order"):
            ahead.take(5)
    finally:
        ahead.close()
    assert ahead._done


def test_a_full_ring_waits_for_the_loop_and_reuses_its_arrays():
    filled: list[int] = []

    def fill(j: int, out: np.ndarray) -> None:
        filled.append(j)
        out.fill(j)

    ahead = DrawAhead(fill, range(10), (3,), budget=2 * 3 * 4)  # room for two steps
    assert ahead.depth == 2
    try:
        seen = [ahead.take(j).copy() for j in range(10)]
    finally:
        ahead.close()
    assert [s.tolist() for s in seen] == [[float(j)] * 3 for j in range(10)]
    assert filled == list(range(10))


def test_close_stops_the_worker_before_it_draws_the_rest():
    filled: list[int] = []
    gate = threading.Event()

    def fill(j: int, out: np.ndarray) -> None:
        filled.append(j)
        if len(filled) == 2:  # steps 1 and 2: the worker's, before the ring of 3 is full
            gate.set()
        out.fill(j)

    ahead = DrawAhead(fill, range(100), (2,), budget=3 * 2 * 4)
    try:
        assert gate.wait(5)
        assert ahead.take(0).tolist() == [0.0, 0.0]  # the loop draws the first step itself
    finally:
        ahead.close()  # the loop stopped after one step: the worker ends without drawing the rest
    assert ahead._done and sorted(filled) == [0, 1, 2]


def test_a_forked_child_starts_its_own_workers():
    streams = NoiseStreams(1)
    warm = DrawAhead(streams.step_into, [0, 1], (2,))  # a worker now exists in this process
    warm.take(0), warm.take(1)
    warm.close()

    def child() -> bytes:  # the child has no threads: a new worker must start, or take() would hang
        ahead = DrawAhead(NoiseStreams(1).step_into, [0, 1, 2], (2,))
        ok = all(ahead.take(j).shape == (2,) for j in range(3))
        ahead.close()
        return b"1" if ok else b"0"

    assert in_forked_child(child) == b"1"


def test_an_error_in_a_draw_is_raised_by_take():
    def fill(j: int, out: np.ndarray) -> None:
        if j == 1:
            raise ValueError("no noise for step 1")
        out.fill(0)

    ahead = DrawAhead(fill, [0, 1, 2], (1,))
    try:
        ahead.take(0)
        with pytest.raises(ValueError, match="no noise for step 1"):
            ahead.take(1)
    finally:
        ahead.close()
