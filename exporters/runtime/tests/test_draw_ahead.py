"""Noise drawn ahead on a thread: the same arrays in the same order, errors raised in the loop."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from genforge_runtime.ahead import DrawAhead
from genforge_runtime.noise import NoiseStreams


def test_draws_ahead_are_the_draws_of_the_loop_in_order():
    streams, plain = NoiseStreams(5), NoiseStreams(5)
    ahead = DrawAhead(lambda j: streams.step(j, (4, 3)), [0, 1, 2, 4])
    try:
        for j in (0, 1, 2, 4):
            np.testing.assert_array_equal(ahead.take(j), plain.step(j, (4, 3)))
    finally:
        ahead.close()
    assert not ahead._thread.is_alive()


def test_at_most_depth_draws_wait_and_close_stops_the_thread_early():
    drawn: list[int] = []
    gate = threading.Event()

    def draw(j: int) -> np.ndarray:
        drawn.append(j)
        if len(drawn) == 2:
            gate.set()
        return np.full(2, j, dtype=np.float32)

    ahead = DrawAhead(draw, range(100), depth=2)
    assert gate.wait(5)
    assert ahead.take(0).tolist() == [0.0, 0.0]
    ahead.close()  # the loop stopped after one step: the thread ends without drawing the rest
    assert not ahead._thread.is_alive() and len(drawn) <= 4


def test_an_error_in_a_draw_is_raised_by_take():
    def draw(j: int) -> np.ndarray:
        if j == 1:
            raise ValueError("no noise for step 1")
        return np.zeros(1, dtype=np.float32)

    ahead = DrawAhead(draw, [0, 1, 2])
    try:
        ahead.take(0)
        with pytest.raises(ValueError, match="no noise for step 1"):
            ahead.take(1)
    finally:
        ahead.close()
