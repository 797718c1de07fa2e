"""Step noise drawn ahead by a worker thread while the network runs (numpy only)."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence

import numpy as np

#: at most this many bytes of noise are drawn ahead (at least two steps' worth)
BUDGET = 16 * 2**20


class _Workers:
    """Daemon threads that run jobs, started when none is idle and kept (a start costs 100 us)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """No workers (also in a forked child, which has none of its parent's threads)."""
        self._jobs: queue.SimpleQueue[tuple[Callable[[], None], threading.Event]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> threading.Event:
        """Run ``job`` on an idle worker, or on a new one; the event is set when that worker is idle."""
        finished = threading.Event()
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                threading.Thread(target=self._work, daemon=True, name="genforge-draw-ahead").start()
        self._jobs.put((job, finished))
        return finished

    def _work(self) -> None:
        while True:
            job, finished = self._jobs.get()
            try:
                job()
            except BaseException:  # a job hands its errors to its caller; the worker lives on
                pass
            finally:
                with self._lock:
                    self._idle += 1
                finished.set()


_workers = _Workers()
os.register_at_fork(after_in_child=_workers.reset)


def background(job: Callable[[], None]) -> threading.Event:
    """Run ``job`` on a worker thread; the event is set when it has finished (failed or not)."""
    return _workers.submit(job)


class DrawAhead:
    """``take(j)`` gives step ``j``'s noise, filled by ``fill(j, out)`` on a worker thread ahead of the loop.

    numpy fills an array and onnxruntime runs a graph with the GIL released, so the noise of
    later steps is drawn on another core while the network computes this one. Draws go
    into a ring of preallocated arrays, as many steps as ``budget`` bytes hold (all of them
    for small samples), so the thread rarely waits for the loop. Neither side takes a lock
    while the other keeps up: each hand-over between Python threads costs microseconds, as
    much as a small network's step. The draws and their order are those of ``fill``: the
    samples do not change, only the wall time. ``take`` must follow the order of ``steps``,
    and an array it returned is reused once ``take`` is called ``depth`` more times.
    """

    def __init__(self, fill: Callable[[int, np.ndarray], None], steps: Sequence[int],
                 shape: tuple[int, ...], budget: int = BUDGET) -> None:
        self._steps = list(steps)
        self._draw = fill
        step_bytes = max(1, int(np.prod(shape)) * 4)
        self.depth = max(1, min(len(self._steps), max(2, budget // step_bytes)))
        self._slots = list(np.empty((self.depth, *shape), dtype=np.float32))
        self._filled = 1  # steps drawn (written by the thread; the loop draws the first itself,
        # while the worker wakes up: waiting for the worker's first draw would cost more)
        self._released = 0  # steps whose arrays the loop no longer uses (written by the loop)
        self._taken = 0
        self._loop_waits = self._thread_waits = False
        self._done = self._stop = False
        self._error: BaseException | None = None
        self._cond = threading.Condition(threading.Lock())
        self._finished = background(self._fill)

    def _fill(self) -> None:
        """The worker's job: steps 1, 2, ... into the ring, waiting while it is full."""
        try:
            for m in range(1, len(self._steps)):
                j = self._steps[m]
                if m >= self._released + self.depth:  # the ring is full: wait for the loop
                    with self._cond:
                        self._thread_waits = True
                        while not self._stop and m >= self._released + self.depth:
                            self._cond.wait()
                        self._thread_waits = False
                if self._stop:
                    return
                self._draw(j, self._slots[m % self.depth])
                self._filled = m + 1
                if self._loop_waits:
                    with self._cond:
                        self._cond.notify_all()
        except BaseException as e:  # handed to the loop, which raises it
            self._error = e
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def take(self, j: int) -> np.ndarray:
        """Step ``j``'s noise (waits for the thread if it is behind); frees the previous step's."""
        p = self._taken
        if p >= len(self._steps) or self._steps[p] != j:
            raise ValueError(f"step {j}: noise is taken in the order {self._steps}")
        if p == 0:
            self._draw(j, self._slots[0])
        self._released = p
        if self._thread_waits:
            with self._cond:
                self._cond.notify_all()
        if self._filled <= p:
            with self._cond:
                self._loop_waits = True
                while self._filled <= p and not self._done:
                    self._cond.wait()
                self._loop_waits = False
            if self._filled <= p:  # the thread failed (or was stopped) before it drew step j
                raise self._error or RuntimeError(f"step {j}: no noise was drawn")
        self._taken = p + 1
        return self._slots[p % self.depth]

    def close(self) -> None:
        """Stop the worker (after its current draw) and wait for it to finish this job."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._finished.wait()
