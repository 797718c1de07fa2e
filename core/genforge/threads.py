"""CPU threads that suit the machine: sized to the CPUs the process may use, tuned to how busy it is.

PyTorch's OpenMP threads spin while they wait for each other. Beside one busy process on
two cores a spinning thread burns the time slice its partner needs, and training ran 15
times slower; genforge asks OpenMP for sleeping waits before torch loads, unless the
environment already chose (``OMP_WAIT_POLICY=ACTIVE`` spins as before). Which thread count
trains fastest then still depends on the network and on what else runs, so a CPU run left
at ``trainer.threads = 0`` starts on one thread and ``ThreadTuner`` tries others as it goes.
"""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Iterator
from typing import TYPE_CHECKING

from genforge.errors import ConfigError
from genforge_runtime.cpus import cpu_count, usable_cpus

if TYPE_CHECKING:
    import torch


def prefer_passive_waits() -> None:
    """Ask OpenMP for sleeping waits (``OMP_WAIT_POLICY=PASSIVE``) unless the environment chose a policy.

    It takes effect only when torch is imported afterwards: OpenMP reads it once, at load.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def default_threads() -> int | None:
    """The most torch CPU threads genforge uses when none are asked for: one per CPU the process may use.

    None where ``OMP_NUM_THREADS`` is set (torchrun sets 1 for each of several processes):
    torch's own count then follows it.
    """
    return None if os.environ.get("OMP_NUM_THREADS") else usable_cpus()


class ThreadTuner:
    """Keeps the torch CPU thread count that trains fastest: one at first, its neighbours tried now and then.

    After ``settle`` seconds of steps, and every ``every`` seconds after that, it times
    ``steps`` steps at the current count and as many at twice (or half) that count, after
    one step to warm the new count up, and keeps the faster. A probe that found a faster
    count goes on climbing in the same direction.
    """

    def __init__(self, most: int, settle: float = 5.0, every: float = 30.0, steps: int = 5) -> None:
        import torch

        self.most, self.every, self.steps = most, every, steps
        self.count = 1
        self.wait = settle  # seconds of steps until the next probe
        self.upward = True  # which neighbour the next probe tries
        self.times: list[float] = []
        self.base = 0.0  # median seconds per step at ``self.count``, measured just before a trial
        self.trial: int | None = None
        torch.set_num_threads(1)

    def step_took(self, seconds: float) -> None:
        """Account one training step; start, run or end a probe as due."""
        if self.trial is None and self.wait > 0:
            self.wait -= seconds
            return
        self.times.append(seconds)
        if len(self.times) < self.steps + (self.trial is not None):
            return
        median = statistics.median(self.times[-self.steps:])
        self.times = []
        if self.trial is None:  # the current count is measured: try a neighbour
            self.base = median
            self._try(self._neighbour())
        elif median < 0.97 * self.base:  # the trial count is faster: keep it and climb on
            self.count, self.base = self.trial, median
            self._try(self._neighbour())
        else:  # go back; next time try the other side
            self.upward = not self.upward
            self._try(None)

    def _neighbour(self) -> int | None:
        """Twice or half the current count (in the probe's direction), or None past the ends."""
        n = min(self.most, self.count * 2) if self.upward else max(1, self.count // 2)
        if n == self.count:
            self.upward = not self.upward
            n = min(self.most, self.count * 2) if self.upward else max(1, self.count // 2)
        return None if n == self.count else n

    def _try(self, count: int | None) -> None:
        """Switch to ``count`` for a trial, or (None) settle on the current count until the next probe."""
        import torch

        self.trial = count
        if count is None:
            self.wait = self.every
        torch.set_num_threads(count or self.count)


@contextlib.contextmanager
def cpu_threads(threads: int, device: torch.device) -> Iterator[ThreadTuner | None]:
    """Run with ``threads`` torch CPU threads, restoring the count after (0 on a CPU: a ``ThreadTuner``)."""
    import torch

    if threads > cpu_count():  # more would only wait for each other (thousands: a hang)
        raise ConfigError(f"trainer.threads = {threads}: expected 0 to {cpu_count()} (the CPUs of this "
                          "machine)")
    previous = torch.get_num_threads()
    most = default_threads() if device.type == "cpu" and not threads else None
    tuner = ThreadTuner(most) if most and most > 1 else None
    if threads or most == 1:
        torch.set_num_threads(threads or 1)
    try:
        yield tuner
    finally:
        torch.set_num_threads(previous)
