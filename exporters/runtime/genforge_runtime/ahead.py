"""Step noise drawn ahead by a background thread while the network runs (numpy only)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np


class DrawAhead:
    """``take(j)`` gives ``draw(j)``, drawn by a thread at most ``depth`` steps ahead of the loop.

    numpy fills an array and onnxruntime runs a graph with the GIL released, so the noise of
    the next step is drawn on another core while the network computes this one. The draws
    and their order are those of ``draw``: the samples do not change, only the wall time.
    """

    def __init__(self, draw: Callable[[int], np.ndarray], steps: Sequence[int], depth: int = 2) -> None:
        self._ready: dict[int, np.ndarray] = {}
        self._events = {j: threading.Event() for j in steps}
        self._room = threading.Semaphore(depth)
        self._stop = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._fill, args=(draw, list(steps)), daemon=True,
                                        name="genforge-draw-ahead")
        self._thread.start()

    def _fill(self, draw: Callable[[int], np.ndarray], steps: list[int]) -> None:
        try:
            for j in steps:
                self._room.acquire()
                if self._stop:
                    return
                self._ready[j] = draw(j)
                self._events[j].set()
        except BaseException as e:  # handed to the loop, which raises it
            self._error = e
            for event in self._events.values():
                event.set()

    def take(self, j: int) -> np.ndarray:
        """Step ``j``'s noise (waits for the thread if it is behind)."""
        self._events[j].wait()
        value = self._ready.pop(j, None)
        if value is None:  # the thread failed before it drew step j
            raise self._error or RuntimeError(f"step {j}: no noise was drawn")
        self._room.release()
        return value

    def close(self) -> None:
        """Stop the thread (after its current draw) and wait for it."""
        self._stop = True
        self._room.release()
        self._thread.join()
