"""Augmentations of image batches: differentiable building blocks and the trainer's seeded flips.

A block draws one random number per sample (``uniform``) and applies it with tensor
operations (``flip``), so gradients flow through it to generated images. Randomness comes
from the ``generator`` handed in; ``None`` is torch's global RNG on the batch's device,
which inside ``train_step`` is the run's (seeded by the trainer, separate per process,
stored in every checkpoint). The trainer's own flips (``data.flip``) use neither: they
come from ``step_flips``, a function of the run seed and the step alone.
"""

from __future__ import annotations

import numpy as np
import torch

#: The spawn key that separates the trainer's flips from the other streams of a run's seed.
FLIP_STREAM = 1


def uniform(n: int, device: torch.device | str, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` numbers uniform in [0, 1), one per sample, on ``device`` (drawn on ``generator``'s)."""
    where = generator.device if generator is not None else device
    return torch.rand(n, generator=generator, device=where).to(device)


def flip(x: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """``x`` ``[N, C, H, W]`` with the samples where ``which`` (bool ``[N]``) is true mirrored."""
    mask = which.to(x.device).reshape(-1, *([1] * (x.dim() - 1)))
    return torch.where(mask, x.flip(-1), x)


def step_generator(seed: int, step: int) -> torch.Generator:
    """The CPU generator of the trainer's flips at ``step`` of a run seeded ``seed``."""
    state = np.random.SeedSequence(seed, spawn_key=(FLIP_STREAM, step)).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


def step_flips(seed: int, step: int, batch_size: int, shard: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """Which samples of this process's share of the batch of ``step`` the trainer flips (bool, CPU).

    Drawn for the whole batch of ``batch_size`` and sliced as ``shard = (rank, world)``
    slices the batch, so any number of processes flips the samples one process would.
    """
    rank, world = shard
    local = batch_size // world
    return (uniform(batch_size, "cpu", step_generator(seed, step)) < 0.5)[rank * local: (rank + 1) * local]
