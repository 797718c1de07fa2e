"""Our ``ddpm`` beside diffusers' ``UNet2DModel`` with its ``DDPMScheduler`` / ``DDIMScheduler``.

Both learn the same thing from the same batches: 8x8 digits in [-1, 1], v-prediction on the
cosine schedule with 1,000 timesteps, a U-Net of the same widths (one residual block per
level on the way down, two up, one-head self-attention in the middle, group norm, a
128-wide timestep embedding), Adam at the same learning rate and batch size, and the same
warmed-up EMA of the weights. The script measures, interleaving the two in blocks so that
the machine's load hits both alike:

- training images/s (a whole optimisation step each: forward, loss, backward, Adam, EMA);
- sampling samples/s with DDIM (eta 0) and ancestral DDPM at the same step count and batch;
- the FD of each model's DDIM samples with genforge's digits evaluator (n samples, several
  seeds), beside the floor.

Times are the process's CPU time (``time.process_time``): with one torch thread that is the
wall time an idle core would take, and it does not count the time other processes hold the
CPU on a shared machine.

diffusers is an optional benchmark extra (``pip install -e ".[peer]"``), not a dependency of
the family. Run:

    OMP_NUM_THREADS=1 python benchmarks/peer_diffusers.py [--steps 2000] [--sample-steps 20]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genforge.build import build_model, load_data
from genforge.config import build_raw, resolve
from genforge.ema import warmup_decay
from genforge.evaluate import EvalContext, summarise
from genforge.metrics.frechet import fd
from genforge.plugins import default_plugins
from genforge_diffusion.sampling import DiffusionSampling


class Average:
    """The trainer's EMA rule (``genforge.ema.warmup_decay``) over a module's float weights."""

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        self.module, self.decay, self.step = module, decay, 0
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self) -> None:
        """Move the averages towards the current weights."""
        state = self.module.state_dict()
        weight = 1.0 - warmup_decay(self.decay, self.step)
        torch._foreach_lerp_(list(self.shadow.values()), [state[k] for k in self.shadow], weight)
        self.step += 1

    def apply(self) -> None:
        """Put the averaged weights into the module (for sampling after training)."""
        self.module.load_state_dict(self.shadow, strict=False)


def batches(x: torch.Tensor, batch: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless shuffled batches of ``x`` (the same sequence for both models)."""
    g = torch.Generator().manual_seed(seed)
    while True:
        for idx in torch.randperm(len(x), generator=g).split(batch):
            if len(idx) == batch:
                yield x[idx]


class Ours:
    """genforge's ``ddpm`` through its own ``train_step`` and ``sample``."""

    label = "genforge ddpm"

    def __init__(self, args: argparse.Namespace) -> None:
        plugins = default_plugins()
        raw = build_raw({"model": {"name": "ddpm", "widths": args.widths, "lr": args.lr},
                         "data": {"name": "digits", "size": 8}})
        self.resolved = resolve(raw, plugins)
        self.data = load_data(self.resolved, plugins)
        self.model = build_model(self.resolved, self.data.info)
        self.optimizers = self.model.configure_optimizers()
        self.ema = Average(self.model, args.ema)

    def train_step(self, x: torch.Tensor) -> None:
        """One optimisation step on a batch of images in [0, 1]."""
        self.model.train_step((x, None), self.optimizers)
        self.ema.update()

    def sample(self, n: int, sampler: str, steps: int, seed: int) -> torch.Tensor:
        """``n`` images in [0, 1] from the named sampler."""
        options = DiffusionSampling(sampler=sampler, steps=steps)
        return self.model.sample(n, seed=seed, options=options)


class Theirs:
    """diffusers' ``UNet2DModel`` trained and sampled the way diffusers' examples do."""

    label = "diffusers UNet2DModel"

    def __init__(self, args: argparse.Namespace, ours: Ours) -> None:
        from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

        cfg = ours.model.config
        levels = len(cfg.widths)
        self.unet = UNet2DModel(
            sample_size=8, in_channels=1, out_channels=1, block_out_channels=tuple(cfg.widths),
            layers_per_block=cfg.blocks, down_block_types=("DownBlock2D",) * levels,
            up_block_types=("UpBlock2D",) * levels, norm_num_groups=cfg.groups,
            attention_head_dim=cfg.widths[-1] // cfg.heads, add_attention=cfg.attention,
            time_embedding_dim=cfg.embed_dim)
        common = {"num_train_timesteps": cfg.train_steps, "beta_schedule": "squaredcos_cap_v2",
                  "prediction_type": "v_prediction", "clip_sample": False, "timestep_spacing": "trailing"}
        self.ddpm = DDPMScheduler(**common)
        self.ddim = DDIMScheduler(**common, set_alpha_to_one=True)
        self.optimizer = torch.optim.Adam(self.unet.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.ema = Average(self.unet, args.ema)

    def train_step(self, x: torch.Tensor) -> None:
        """One optimisation step on a batch of images in [0, 1]."""
        x0 = x * 2.0 - 1.0
        noise = torch.randn_like(x0)
        t = torch.randint(0, self.ddpm.config.num_train_timesteps, (len(x0),))
        noisy = self.ddpm.add_noise(x0, noise, t)
        loss = F.mse_loss(self.unet(noisy, t).sample, self.ddpm.get_velocity(x0, noise, t))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.ema.update()

    @torch.no_grad()
    def sample(self, n: int, sampler: str, steps: int, seed: int) -> torch.Tensor:
        """``n`` images in [0, 1] from the scheduler's loop."""
        scheduler = self.ddim if sampler == "ddim" else self.ddpm
        scheduler.set_timesteps(steps)
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 1, 8, 8, generator=g)
        self.unet.eval()
        for t in scheduler.timesteps:
            x = scheduler.step(self.unet(x, t).sample, t, x, generator=g).prev_sample
        self.unet.train()
        return (x * 0.5 + 0.5).clamp(0.0, 1.0)


def timed(fn: Callable[[], Any]) -> float:
    """CPU seconds ``fn()`` took."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def interleaved(a: Callable[[], Any], b: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """Total CPU seconds of ``a`` and of ``b`` over ``rounds`` alternations (b first on odd rounds)."""
    ta = tb = 0.0
    for r in range(rounds):
        if r % 2:
            tb += timed(b)
            ta += timed(a)
        else:
            ta += timed(a)
            tb += timed(b)
    return ta, tb


def fd_of(samples: torch.Tensor | None, data: Any, n: int, seed: int) -> float:
    """FD of ``samples`` against the held-out digits; ``None``: of ``n`` training images (the floor)."""
    ctx = EvalContext(None, data, n, seed, {"data_source": "digits"}, floor=samples is None)
    if samples is not None:
        ctx._samples = (samples.float(), None)
    return fd(ctx)["fd"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train both models side by side, then time their samplers and score their samples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="training steps of each model")
    parser.add_argument("--batch", type=int, default=64, help="training batch size")
    parser.add_argument("--block", type=int, default=50, help="steps per interleaved timing block")
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64], help="U-Net widths")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of both")
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of both (warmed up)")
    parser.add_argument("--sample-steps", type=int, default=20, help="sampling steps of both")
    parser.add_argument("--sample-batch", type=int, default=64, help="batch of the sampling timing")
    parser.add_argument("--n", type=int, default=1000, help="samples per FD seed")
    parser.add_argument("--seeds", type=int, default=3, help="FD seeds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    import diffusers

    torch.manual_seed(0)
    ours = Ours(args)
    theirs = Theirs(args, ours)
    x = ours.data.train.x
    feed_a, feed_b = batches(x, args.batch, 0), batches(x, args.batch, 0)
    rounds = max(1, args.steps // args.block)

    def block(model: Ours | Theirs, feed: Iterator[torch.Tensor]) -> Callable[[], None]:
        return lambda: [model.train_step(next(feed)) for _ in range(args.block)]

    t_ours, t_theirs = interleaved(block(ours, feed_a), block(theirs, feed_b), rounds)
    images = rounds * args.block * args.batch
    report: dict[str, Any] = {
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                     "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread(s)"},
        "parameters": {"ours": sum(p.numel() for p in ours.model.parameters()),
                       "theirs": sum(p.numel() for p in theirs.unet.parameters())},
        "train_images_per_s": {"ours": images / t_ours, "theirs": images / t_theirs,
                               "ratio": t_theirs / t_ours},
        "training": f"{rounds * args.block} steps x {args.batch}",
    }
    ours.ema.apply()
    theirs.ema.apply()
    sampling: dict[str, Any] = {}
    for sampler in ("ddim", "ddpm"):
        ta, tb = interleaved(lambda s=sampler: ours.sample(args.sample_batch, s, args.sample_steps, 0),
                             lambda s=sampler: theirs.sample(args.sample_batch, s, args.sample_steps, 0), 4)
        n = 4 * args.sample_batch
        sampling[sampler] = {"ours": n / ta, "theirs": n / tb, "ratio": tb / ta}
    report["sample_per_s"] = {"steps": args.sample_steps, "batch": args.sample_batch, **sampling}
    scores: dict[str, list[float]] = {"ours": [], "theirs": [], "floor": []}
    for seed in range(args.seeds):
        for name, model in (("ours", ours), ("theirs", theirs)):
            scores[name].append(fd_of(model.sample(args.n, "ddim", args.sample_steps, seed), ours.data,
                                      args.n, seed))
        scores["floor"].append(fd_of(None, ours.data, args.n, seed))
    report["fd_ddim"] = {k: summarise(v) for k, v in scores.items()}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
