"""Shards: packing, images/s the ``shards`` source delivers, and training from shards against memory.

Generates ``--n`` 32x32 RGB images with 10 labels (smooth random pictures plus noise; nothing is
downloaded) into an ``.npz`` file, or takes ``--source NAME [--set data.KEY=VALUE ...]``, and
packs it with ``genforge data pack``'s code. Then

- images/s that the shards source delivers (decoded, batched, as float32) with 0, 1 and 2
  DataLoader workers (``trainer.workers``), one epoch each, alternated over ``--rounds``;
- ``cgan``'s training steps/s on the shards against the same data in memory (the ``npz``
  source, or ``--source``), paired and alternated over ``--rounds``: each round trains both for
  ``--steps`` steps and times the steps after the first ``--warmup`` (epoch starts, with their
  worker start-up, included); the figure is the median of the rounds' ratios. Beside the
  wall-clock steps/s it gives steps per second of the training process's CPU time, which
  other work on a shared machine disturbs less (the workers' own CPU time is not in it).

Figures are printed, not asserted. Run: ``OMP_NUM_THREADS=1 python benchmarks/shards.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import genforge
from genforge.cli import data_options
from genforge.data.checks import run_source
from genforge.data.pack import pack
from genforge.data.shards import ShardsConfig, load
from genforge.data.stream import DataPosition, Reader, stream_batches
from genforge.hookspecs import hookimpl
from genforge.plugins import Plugins, default_plugins


def pictures(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 32x32 RGB uint8 images (NHWC): 4x4 random colours blown up smoothly, plus noise; labels."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.uniform(0, 255, (n, 3, 4, 4)).astype(np.float32))
    smooth = torch.nn.functional.interpolate(coarse, size=32, mode="bilinear", align_corners=False)
    x = (smooth.numpy() + rng.normal(0, 8, smooth.shape)).clip(0, 255).round().astype(np.uint8)
    return x.transpose(0, 2, 3, 1), rng.integers(0, 10, n)


class StepTimer:
    """A hook object timing the steps after ``warmup``: wall clock and the process's CPU time."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.steps = warmup, 0
        self.start, self.end = (0.0, 0.0), (0.0, 0.0)

    @hookimpl
    def genforge_on_step_end(self, run: Any, step: int, metrics: Any) -> None:
        """Start the clocks at ``warmup``, stop them at the last step."""
        now = (time.perf_counter(), time.process_time())
        if step == self.warmup:
            self.start = now
        self.end, self.steps = now, step - self.warmup


def steps_per_s(data: dict[str, Any], out: Path, args: argparse.Namespace) -> tuple[float, float]:
    """Steps/s of ``cgan`` on ``data`` (a ``[data]`` section) after the warm-up steps: per second of
    wall clock and per second of the training process's CPU time."""
    timer = StepTimer(args.warmup)
    config = {"model": {"name": "cgan", "ngf": args.width, "ndf": args.width}, "data": data, "out": str(out),
              "seed": 0,
              "trainer": {"steps": args.steps, "batch_size": args.batch, "progress": False,
                          "sample_every": 0, "checkpoint_every": 0, "threads": args.threads,
                          "workers": args.train_workers}}
    genforge.train(config, plugins=Plugins(extra=[timer]))
    return timer.steps / (timer.end[0] - timer.start[0]), timer.steps / (timer.end[1] - timer.start[1])


def images_per_s(folder: Path, workers: int, batch: int) -> float:
    """Images/s of one epoch of the shards source with ``workers`` DataLoader workers."""
    split = load(ShardsConfig(path=str(folder))).train
    position = DataPosition()
    batches = stream_batches(split, 0, Reader(0, 1, max(1, workers), batch), workers, position,
                             torch.device("cpu"))
    start, images = time.perf_counter(), 0
    for x, _ in batches:
        images += len(x)
        if position.batch == 0:
            break
    return images / (time.perf_counter() - start)


def main() -> None:
    """Pack, read back, train; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="generated images (default 20000)")
    parser.add_argument("--source", help="a data source instead of generated images")
    parser.add_argument("--set", action="append", metavar="data.KEY=VALUE", help="an option of --source")
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=150, help="training steps per run (default 150)")
    parser.add_argument("--warmup", type=int, default=20, help="steps before the clock starts (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="trainer.threads (default 1)")
    parser.add_argument("--width", type=int, default=32, help="cgan's model.ngf and model.ndf (default 32)")
    parser.add_argument("--train-workers", type=int, default=1, help="trainer.workers of the shards runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.source:
            memory = {"name": args.source, **data_options(default_plugins(), args.source, args.set)
                      .model_dump(mode="json")}
        else:
            x, y = pictures(args.n, seed=0)
            np.savez(root / "pictures.npz", x=x, y=y)
            memory = {"name": "npz", "path": str(root / "pictures.npz")}
        entry = default_plugins().get("data_sources", memory["name"])
        data = run_source(entry, entry.config_cls.model_validate({k: v for k, v in memory.items()
                                                                  if k != "name"}))
        start = time.perf_counter()
        done = pack(data, root / "shards", args.shard_size, progress=False)
        took = time.perf_counter() - start
        total = done.shards.info.num_train + done.shards.info.num_test
        print(f"data: {memory['name']}, {done.shards.info.num_train} training and "
              f"{done.shards.info.num_test} held-out samples of {list(done.shards.info.shape)}")
        print(f"pack: {total / took:.0f} samples/s, {len(done.shards.train)} training shards, "
              f"{done.size / 2**20:.1f} MiB")
        rates: dict[int, list[float]] = {0: [], 1: [], 2: []}
        for _ in range(args.rounds):
            for workers in rates:
                rates[workers].append(images_per_s(root / "shards", workers, args.batch))
        for workers, values in rates.items():
            print(f"shards source, {workers} workers: {statistics.median(values):.0f} images/s "
                  f"(median of {args.rounds} epochs, batch {args.batch})")
        shards = {"name": "shards", "path": str(root / "shards")}
        walls, cpus = [], []
        for i in range(args.rounds):
            (mem, mem_cpu), (sha, sha_cpu) = (steps_per_s(memory, root / f"memory-{i}", args),
                                              steps_per_s(shards, root / f"shards-{i}", args))
            walls.append(sha / mem)
            cpus.append(sha_cpu / mem_cpu)
            print(f"round {i}: cgan {mem:.2f} steps/s in memory, {sha:.2f} from shards "
                  f"({args.train_workers} workers): {sha / mem:.3f}; per CPU second of the training "
                  f"process {mem_cpu:.2f} and {sha_cpu:.2f}: {sha_cpu / mem_cpu:.3f}")
        print(f"cgan steps/s from shards over in memory: median {statistics.median(walls):.3f} "
              f"(per CPU second of the training process: {statistics.median(cpus):.3f}; "
              f"{args.rounds} paired rounds, {args.steps - args.warmup} timed steps each, batch "
              f"{args.batch}, width {args.width}, {args.threads} torch threads)")


if __name__ == "__main__":
    main()
