"""Exponential moving average of a model's weights (``trainer.ema_decay``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from genforge.model import GenerativeModel

EMA_WEIGHTS = "ema.safetensors"


class EMA:
    """Keeps ``decay``-averaged copies of the floating-point weights under ``model.ema_scope``.

    Integer buffers (step counters, BatchNorm batch counts) are copied, not averaged.
    """

    def __init__(self, model: GenerativeModel, decay: float) -> None:
        self.decay = decay
        self.model = model
        state = model.state_dict()
        self.names = [k for k in state if k.startswith(model.ema_scope)]
        self.shadow = {k: state[k].detach().clone() for k in self.names}
        self.floats = [k for k in self.names if self.shadow[k].is_floating_point()]
        self.others = [k for k in self.names if not self.shadow[k].is_floating_point()]
        self.float_shadow = [self.shadow[k] for k in self.floats]

    @torch.no_grad()
    def update(self) -> None:
        """Move the averages towards the model's current weights."""
        state = self.model.state_dict()
        if self.floats:
            torch._foreach_lerp_(self.float_shadow, [state[k] for k in self.floats], 1.0 - self.decay)
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
