"""Several processes under ``torchrun``: process group, rank, gradient averaging, reductions.

Gradients are averaged across processes in ``GenerativeModel.backward_step`` with one
coalesced all-reduce per optimizer step, which is DDP's arithmetic applied to exactly the
parameters each optimizer updates. Wrapping networks in ``DistributedDataParallel`` would
only synchronise parameters reached through a wrapped module's ``forward``; families use
parameters outside ``forward`` (a VAE's learned variance) and update two networks in turn
(GANs), which DDP's reducer mishandles silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


@dataclass(frozen=True)
class Process:
    """This process's place among the training processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        """True when more than one process trains."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """True on the process that writes checkpoints, logs and grids."""
        return self.rank == 0


def from_env() -> Process:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` as ``torchrun`` sets them."""
    env = os.environ
    return Process(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def init(process: Process, device: torch.device) -> bool:
    """Join the process group (NCCL on CUDA, gloo on CPU); return True if this call created it."""
    if not process.distributed or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def average_gradients(optimizer: torch.optim.Optimizer, world: int) -> None:
    """Replace each gradient of ``optimizer``'s parameters by its mean over all processes."""
    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= world
    for grad, synced in zip(grads, _unflatten_dense_tensors(flat, grads), strict=True):
        grad.copy_(synced)


def mean_over_processes(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average a dict of scalars over all processes (every process must call this)."""
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist(), strict=True))


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Copy the main process's parameters and buffers to every process."""
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)
