"""The torch side of sampling: the noise contract's per-step draws, and the shared samplers' loop.

The draws themselves (streams, order, dtypes) are defined once by the noise contract
(``genforge_runtime.noise``, computed on the model's device by ``genforge.noise``) and the
samplers once in ``genforge_runtime.samplers``, so that ``genforge sample`` and
``genforge-run`` give the same samples for a seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from pydantic import BaseModel

from genforge.noise import DeviceStreams
from genforge.sample_options import settings_of
from genforge_runtime import samplers
from genforge_runtime.noise import NoiseStreams
from genforge_runtime.samplers import Process

if TYPE_CHECKING:
    from genforge.model import GenerativeModel

__all__ = ["Process", "StepNoise", "grid_samples", "iterate", "seed_of"]

#: ``predict(x, t, labels)``: the one-step network (``t`` float32 ``[N]``, labels int64 or None).
StepNetwork = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def seed_of(generator: torch.Generator | None) -> int | None:
    """The request seed a torch generator stands for (one 63-bit draw), or ``None`` for a fresh seed."""
    if generator is None:
        return None
    return int(torch.randint(0, 2**63 - 1, (1,), generator=generator))


class StepNoise:
    """The per-step noise of one batch of a sampling request, computed on the model's device.

    ``draw(j)`` is step ``j``'s noise (stream ``2 + j`` of the request's seed), ``next()``
    the next step's; rows are this batch's samples, so batches give the rows of one draw.
    """

    def __init__(self, streams: NoiseStreams, rows: int, shape: tuple[int, ...], device: torch.device,
                 repeat: int = 1) -> None:
        self.streams, self.rows, self.shape, self.device, self.repeat = streams, rows, shape, device, repeat
        self._draws = DeviceStreams(streams, device)
        self._next = 0

    def draw(self, j: int, shape: tuple[int, ...] | None = None) -> torch.Tensor:
        """Step ``j``'s noise, float32 ``[rows, *shape]`` (default shape: the samples')."""
        x = self._draws.step(j, (self.rows, *(shape or self.shape)))
        return x.repeat_interleave(self.repeat, 0) if self.repeat > 1 else x

    def next(self, shape: tuple[int, ...] | None = None) -> torch.Tensor:
        """The next step's noise: ``draw(0)``, then ``draw(1)``, ... ."""
        self._next += 1
        return self.draw(self._next - 1, shape)


def iterate(process: Process, options: BaseModel, z: torch.Tensor, network: StepNetwork,
            labels: torch.Tensor | None, noise: StepNoise | None, *,
            shape: tuple[int, ...], value_range: tuple[float, float] | None,
            null_label: int | None = None) -> torch.Tensor:
    """Samples from latents ``z`` by the sampler ``options`` name, stepping ``network``.

    A family's ``generate`` calls this with the ``noise`` it was handed; the runtime runs
    the same sampler code on the exported ``network`` in numpy.
    """
    settings = settings_of(options).check(process)
    both = None  # with guidance: the labels, then the null label (one network call for both)
    if settings.guidance not in (0.0, 1.0):
        if null_label is None or labels is None:
            raise ValueError(f"guidance {settings.guidance}: this model has no unconditional prediction "
                             "(null label); use 0")
        both = torch.cat([labels, torch.full_like(labels, null_label)])
    calls = samplers.make(process, settings).plan()
    n = len(z)
    x = z.reshape(n, *shape)

    def predict(x: torch.Tensor, t: float) -> torch.Tensor:
        tt = torch.full((n,), t, dtype=torch.float32, device=x.device)
        return network(x, tt, labels)

    def pair(x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        tt = torch.full((2 * n,), t, dtype=torch.float32, device=x.device)
        out = network(torch.cat([x, x]), tt, both)
        return out[:n], out[n:]

    def draw(j: int) -> torch.Tensor:
        if noise is None:
            raise ValueError(f"sampler {settings.sampler!r} draws per-step noise: pass the noise "
                             "argument generate() was given (GenerativeModel.sample does)")
        return noise.draw(j)

    step = predict if both is None else samplers.guided(pair, settings.guidance)
    out = process.to_samples(samplers.run_calls(calls, x, step, draw))
    return out.clamp(*value_range) if value_range is not None else out


def grid_samples(model: GenerativeModel, num_classes: int, seed: int,
                 n: int) -> tuple[torch.Tensor, int | None]:
    """A run's sample grid and its row length: ten of each class, a row per class (conditional
    models), else ``n`` samples; seeded by ``seed``, so grids of one run show the same latents."""
    labels = [c for c in range(num_classes) for _ in range(10)] if model.conditional and num_classes else None
    generator = torch.Generator().manual_seed(seed)
    samples = model.sample(len(labels) if labels else n, labels=labels, generator=generator)
    return samples.float().cpu(), 10 if labels else None
