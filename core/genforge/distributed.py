"""Several processes under ``torchrun``: process group, rank, DDP wrapping, reductions.

Each optimizer's parameters are wrapped in their own ``DistributedDataParallel``, and
``GenerativeModel.backward_step`` arms that wrapper's reducer just before the backward pass:
DDP then averages exactly the gradients that optimizer is about to apply, in buckets that
overlap with the backward pass. Arming per optimizer (rather than wrapping each network and
relying on its ``forward``) is what makes alternating updates correct: a GAN's generator step
also puts gradients on the discriminator, which are not synchronised (they are cleared before
the discriminator's own step), and a parameter used outside any ``forward`` (a VAE's learned
variance) is synchronised like any other. Families need no distributed code of their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genforge.errors import GenforgeError


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


def wrap_optimizers(optimizers: dict[str, torch.optim.Optimizer],
                    device: torch.device) -> dict[int, DistributedDataParallel]:
    """One ``DistributedDataParallel`` per optimizer, over exactly the parameters it updates."""
    wrapped = {}
    for name, opt in optimizers.items():
        params = [p for g in opt.param_groups for p in g["params"] if p.requires_grad]
        if not params:
            continue
        if not all(isinstance(p, nn.Parameter) for p in params):
            raise TypeError(f"optimizer {name!r}: updates tensors that are not nn.Parameter; "
                            "several processes need parameters registered on the model")
        ids = [device.index or 0] if device.type == "cuda" else None
        wrapped[id(opt)] = DistributedDataParallel(nn.ParameterList(params), device_ids=ids)
    return wrapped


def prepare_backward(ddp: DistributedDataParallel) -> None:
    """Arm ``ddp``'s reducer: the next backward pass averages its gradients over the processes.

    As with any DDP model, every parameter must get a gradient in that backward pass; if
    some got none in the previous one, this raises a one-line ``GenforgeError``.
    """
    reducer = ddp.reducer
    try:
        reducer._rebuild_buckets()  # order buckets by the first backward's gradient order
        reducer.prepare_for_backward([])
    except RuntimeError as e:
        if "finished reduction" not in str(e):
            raise
        raise GenforgeError(
            "under several processes, every parameter an optimizer updates must get a gradient "
            "from each backward_step(loss, optimizer); some got none in the previous step") from None


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
