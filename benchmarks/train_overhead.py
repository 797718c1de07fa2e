"""Trainer overhead: images/s of ``genforge.train`` vs a plain hand-written PyTorch loop.

Both train the same DCGAN (the ``gan`` plugin's networks) on the same digits tensor
with the same batch size and steps, in one process, alternating runs; the figure per
side is the median over rounds. The genforge side is timed end to end (data loading,
model build, hooks, metrics log, the final checkpoint and sample grid); the plain loop
only over its steps. Run: ``python benchmarks/train_overhead.py [--size 32] [--steps 150]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

import genforge
from genforge.config import build_raw, resolve
from genforge.data.digits import DigitsConfig, load
from genforge.plugins import default_plugins


def plain_loop(x: torch.Tensor, size: int, steps: int, batch: int, seed: int) -> float:
    """A hand-written DCGAN loop over the same networks; returns images/s."""
    from genforge_gan.config import GANConfig
    from genforge_gan.model import GAN

    torch.manual_seed(seed)
    info = genforge.DataInfo(shape=(1, size, size), kind="image")
    model = GAN(GANConfig(), info)
    g, d = model.generator, model.discriminator
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    per_epoch = len(x) // batch
    start = time.perf_counter()
    step = 0
    while step < steps:
        perm = torch.randperm(len(x), generator=gen)
        for i in range(per_epoch):
            if step == steps:
                break
            real = x[perm[i * batch:(i + 1) * batch]] * 2 - 1
            fake = g(torch.randn(batch, 100))
            opt_d.zero_grad(set_to_none=True)
            r, f = d(real), d(fake.detach())
            loss_d = (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                      + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad(set_to_none=True)
            o = d(fake)
            loss_g = F.binary_cross_entropy_with_logits(o, torch.ones_like(o))
            loss_g.backward()
            opt_g.step()
            step += 1
            if step % 10 == 0:  # a plain loop logs its losses too
                _ = (loss_d.item(), loss_g.item())
    return steps * batch / (time.perf_counter() - start)


def genforge_run(size: int, steps: int, batch: int, seed: int) -> float:
    """``genforge.train`` end to end (progress bar off, no EMA, DCGAN widths); returns images/s."""
    with tempfile.TemporaryDirectory() as out:
        raw = build_raw(model="gan", steps=steps, out=out,
                        overrides=[f"data.size={size}", f"trainer.batch_size={batch}",
                                   f"seed={seed}", "trainer.progress=false",
                                   # the same DCGAN as the plain loop, not the family's digits defaults
                                   "model.ngf=64", "model.ndf=64", "model.lr=0.0002",
                                   "trainer.ema_decay=0"])
        resolved = resolve(raw, default_plugins())
        start = time.perf_counter()
        genforge.train(resolved)
        return steps * batch / (time.perf_counter() - start)


def main() -> None:
    """Alternate the two sides and print images/s and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="image side (default 32)")
    parser.add_argument("--steps", type=int, default=150, help="steps per run (default 150)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side (default 3)")
    args = parser.parse_args()
    x = load(DigitsConfig(size=args.size)).train.x
    plain_loop(x, args.size, 5, args.batch, 0)  # warm-up
    plain, ours = [], []
    for r in range(args.rounds):
        plain.append(plain_loop(x, args.size, args.steps, args.batch, r))
        ours.append(genforge_run(args.size, args.steps, args.batch, r))
        print(f"round {r + 1}: plain {plain[-1]:7.1f} img/s   genforge {ours[-1]:7.1f} img/s")
    p, g = statistics.median(plain), statistics.median(ours)
    paired = statistics.median(b / a for a, b in zip(plain, ours, strict=True))
    print(f"DCGAN {args.size}x{args.size}, batch {args.batch}, {args.steps} steps, "
          f"{torch.get_num_threads()} threads, median of {args.rounds}")
    print(f"plain loop   {p:8.1f} images/s")
    print(f"genforge     {g:8.1f} images/s")
    print(f"ratio        {paired:8.3f}  (genforge / plain: median of the per-round ratios, "
          "each from two back-to-back runs, so slow drift of the machine cancels)")


if __name__ == "__main__":
    main()
