"""Reconstructions of held-out inputs (``genforge sample --reconstruct``)."""

from __future__ import annotations

import torch

from genforge.api import LoadedModel
from genforge.build import load_data
from genforge.capabilities import SupportsReconstruction
from genforge.errors import GenforgeError
from genforge.plugins import Plugins, default_plugins


@torch.no_grad()
def reconstruction_grid(loaded: LoadedModel, n: int, plugins: Plugins | None = None) -> torch.Tensor:
    """``[2n, ...]``: the first ``n`` held-out samples, each followed by its reconstruction."""
    model = loaded.model
    if not isinstance(model, SupportsReconstruction):
        raise GenforgeError(f"model {loaded.config.run.model.name!r} cannot reconstruct "
                            "(it has no reconstruct method)")
    x, y = load_data(loaded.config, plugins or default_plugins()).tensors("test", slice(0, n))
    y = y if model.conditional else None
    model.eval()
    recon = model.reconstruct(x.to(loaded.device), y.to(loaded.device) if y is not None else None)
    return torch.stack([x.float(), recon.float().cpu()], dim=1).flatten(0, 1)
