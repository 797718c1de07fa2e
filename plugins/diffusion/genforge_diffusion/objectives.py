"""Training objectives: noise-prediction diffusion and rectified-flow velocity matching.

The processes are the ones ``genforge_runtime.samplers`` samples from (its docstring
defines them); these functions only draw a training point on them and the target.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

#: ``network(x_t, t, labels) -> prediction``
Network = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def drop_labels(labels: torch.Tensor | None, p: float, null_label: int | None) -> torch.Tensor | None:
    """``labels`` with a share ``p`` replaced by ``null_label`` (classifier-free guidance training)."""
    if labels is None or null_label is None or p <= 0.0:
        return labels
    drop = torch.rand(labels.shape, device=labels.device) < p
    return torch.where(drop, torch.full_like(labels, null_label), labels)


def _per_example(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values`` ``[N]`` shaped to broadcast over ``like`` ``[N, ...]``."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


def diffusion_loss(network: Network, x0: torch.Tensor, labels: torch.Tensor | None,
                   abar: torch.Tensor, prediction: str) -> torch.Tensor:
    """Mean squared error of the ``epsilon`` or ``v`` prediction at uniform random timesteps.

    ``x_t = sqrt(abar[t]) x0 + sqrt(1 - abar[t]) eps``; the network sees ``t`` as a float.
    """
    t = torch.randint(0, len(abar), (len(x0),), device=x0.device)
    eps = torch.randn_like(x0)
    a = _per_example(abar[t], x0)
    signal, sigma = a.sqrt(), (1.0 - a).sqrt()
    xt = signal * x0 + sigma * eps
    target = eps if prediction == "epsilon" else signal * eps - sigma * x0
    return F.mse_loss(network(xt, t.float(), labels), target)


def flow_times(n: int, sampling: str, device: torch.device) -> torch.Tensor:
    """Training times ``s`` in (0, 1): uniform, or logit-normal (sigmoid of a standard normal)."""
    if sampling == "logit_normal":
        return torch.sigmoid(torch.randn(n, device=device))
    return torch.rand(n, device=device)


def flow_loss(network: Network, x0: torch.Tensor, labels: torch.Tensor | None,
              sampling: str = "uniform") -> torch.Tensor:
    """Mean squared error of the velocity ``eps - x0`` at ``x_s = (1 - s) x0 + s eps``."""
    s = flow_times(len(x0), sampling, x0.device)
    eps = torch.randn_like(x0)
    sb = _per_example(s, x0)
    xs = (1.0 - sb) * x0 + sb * eps
    return F.mse_loss(network(xs, s, labels), eps - x0)
