"""Exponential moving average of a model's weights (``trainer.ema_decay``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from genforge.model import GenerativeModel
from genforge.weights import aliases


def warmup_decay(decay: float, step: int) -> float:
    """The decay used at ``step``: ``min(decay, (1 + step) / (10 + step))``.

    Early on the average follows the weights closely (0.1 at step 0, 0.5 at step 8), so a
    short run's average is not the random initial weights; the full ``decay`` applies
    once ``(1 + step) / (10 + step)`` reaches it (after about 9,000 steps for 0.999).
    """
    return min(decay, (1.0 + step) / (10.0 + step))


class EMA:
    """Keeps ``decay``-averaged copies of the floating-point weights under ``model.ema_scope``.

    Integer buffers (step counters, BatchNorm batch counts) are copied, not averaged. The
    decay warms up with the step (``warmup_decay``); the step is the run's, so a resumed
    run averages exactly as an uninterrupted one.
    """

    def __init__(self, model: GenerativeModel, decay: float) -> None:
        self.decay = decay
        self.model = model
        state = model.state_dict()
        self.names = [k for k in state if k.startswith(model.ema_scope)]
        links = aliases({k: state[k] for k in self.names})  # a tensor under several keys: one average
        own = [k for k in self.names if k not in links]
        self.shadow = {k: state[k].detach().clone() for k in own}
        self.shadow.update({k: self.shadow[first] for k, first in links.items()})
        self.floats = [k for k in own if self.shadow[k].is_floating_point()]
        self.others = [k for k in own if not self.shadow[k].is_floating_point()]
        self.float_shadow = [self.shadow[k] for k in self.floats]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the averages towards the model's current weights after ``step`` earlier updates."""
        state = self.model.state_dict()
        if self.floats:
            weight = 1.0 - warmup_decay(self.decay, step)
            torch._foreach_lerp_(self.float_shadow, [state[k] for k in self.floats], weight)
        for k in self.others:
            self.shadow[k].copy_(state[k])

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Temporarily put the averaged weights into the model."""
        backup = {k: v.detach().clone() for k, v in self.model.state_dict().items() if k in self.shadow}
        self.model.load_state_dict(self.shadow, strict=False)
        try:
            yield
        finally:
            self.model.load_state_dict(backup, strict=False)

    def load(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore averages saved by a checkpoint."""
        missing = set(self.names) - set(tensors)
        if missing:
            raise KeyError(f"EMA weights lack {sorted(missing)[:3]}")
        for k in self.names:
            self.shadow[k].copy_(tensors[k])
