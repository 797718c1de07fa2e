"""Step noise drawn ahead by a background thread while the network runs (numpy only)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np


class DrawAhead:
    """``take(j)`` gives ``draw(j)``, drawn by a thread up to ``depth`` steps ahead of the loop.

    numpy fills an array and onnxruntime runs a graph with the GIL released, so the noise of
    later steps is drawn on another core while the network computes this one. The thread
    is woken only when fewer than half of ``depth`` draws are ready, so that the loop and
    the thread rarely wait for each other (each hand-over between Python threads costs
    microseconds, as much as a small network's step). The draws and their order are
    those of ``draw``: the samples do not change, only the wall time.
    """

    def __init__(self, draw: Callable[[int], np.ndarray], steps: Sequence[int], depth: int = 8) -> None:
        self._ready: dict[int, np.ndarray] = {}
        self._depth, self._low = depth, max(1, depth // 2)
        self._wake = threading.Condition()
        self._arrived = threading.Condition()
        self._stop = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._fill, args=(draw, list(steps)), daemon=True,
                                        name="genforge-draw-ahead")
        self._thread.start()

    def _fill(self, draw: Callable[[int], np.ndarray], steps: list[int]) -> None:
        try:
            for j in steps:
                if len(self._ready) >= self._depth:
                    with self._wake:
                        self._wake.wait_for(lambda: self._stop or len(self._ready) < self._low)
                if self._stop:
                    return
                self._ready[j] = draw(j)
                with self._arrived:
                    self._arrived.notify()
        except BaseException as e:  # handed to the loop, which raises it
            self._error = e
        finally:
            self._stop = True
            with self._arrived:
                self._arrived.notify()

    def take(self, j: int) -> np.ndarray:
        """Step ``j``'s noise (waits for the thread if it is behind)."""
        value = self._ready.pop(j, None)
        if value is None:
            with self._arrived:
                self._arrived.wait_for(lambda: j in self._ready or self._stop)
            value = self._ready.pop(j, None)
            if value is None:  # the thread failed (or was stopped) before it drew step j
                raise self._error or RuntimeError(f"step {j}: no noise was drawn")
        if len(self._ready) == self._low - 1:
            with self._wake:
                self._wake.notify()
        return value

    def close(self) -> None:
        """Stop the thread (after its current draw) and wait for it."""
        self._stop = True
        with self._wake:
            self._wake.notify()
        self._thread.join()
