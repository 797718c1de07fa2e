"""Training and sampling images/s of every first-party family on 28x28x1 and 32x32x3 images (CPU).

Writes full-size MNIST and CIFAR-10 files of random pixels into a temporary folder
(``data_memory.py``'s writers; nothing is downloaded) and trains each family on each with
its default settings (``genforge train --model X --data mnist|cifar10``: the family's
suggested trainer section and its networks for that shape, ``cifar10`` flipping batches)
for ``--warmup`` untimed steps, then ``--steps`` timed ones. The run is then loaded and
draws batches of ``--batch`` samples with its default sampler until ``--min-seconds`` have
passed. Rates are images per second of this process's CPU time (with one thread, an idle
core's wall-clock), the wall-clock rate in brackets where it differs by more than 10% (a
busy machine). Prints a markdown table and, with ``--results``, writes it between the
``throughput`` markers of that file (which ``benchmarks/quality.py`` keeps).

    OMP_NUM_THREADS=1 python benchmarks/throughput.py --threads 1 [--results docs/results.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from data_memory import write_cifar10, write_mnist
from quality import replace_block

import genforge
from genforge import hookimpl
from genforge.plugins import Plugins

MODELS = ("gan", "cgan", "vae", "cvae", "ddpm", "cddpm", "fm", "cfm")
SOURCES = {"mnist": ("28x28x1", write_mnist), "cifar10": ("32x32x3", write_cifar10)}


class Clock:
    """A trainer plugin noting (wall, CPU) time at the end of two steps: the timed window."""

    def __init__(self, first: int, last: int) -> None:
        self.steps = (first, last)
        self.marks: dict[int, tuple[float, float]] = {}

    @hookimpl
    def genforge_on_step_end(self, run: Any, step: int, metrics: Any) -> None:
        """Note the times at the first and last step of the window."""
        if step in self.steps:
            self.marks[step] = (time.perf_counter(), time.process_time())

    def rates(self, images: int) -> tuple[float, float]:
        """(CPU-time, wall-clock) images/s of the window."""
        (w0, c0), (w1, c1) = (self.marks[s] for s in self.steps)
        return images / (c1 - c0), images / (w1 - w0)


def sampling_rates(loaded: genforge.LoadedModel, batch: int, min_seconds: float) -> tuple[float, float]:
    """(CPU-time, wall-clock) samples/s of ``loaded``'s default sampler, batches of ``batch``."""
    loaded.sample(2, seed=0)  # warm-up
    drawn, wall, cpu = 0, time.perf_counter(), time.process_time()
    while drawn == 0 or time.process_time() - cpu < min_seconds:
        loaded.sample(batch, seed=drawn)
        drawn += batch
    return drawn / (time.process_time() - cpu), drawn / (time.perf_counter() - wall)


def rate_text(cpu: float, wall: float) -> str:
    """A rate, with the wall-clock one in brackets when it differs by more than 10%."""
    text = f"{cpu:,.1f}" if cpu < 100 else f"{cpu:,.0f}"
    if abs(wall - cpu) > 0.1 * cpu:
        text += f" ({wall:,.1f} wall)" if wall < 100 else f" ({wall:,.0f} wall)"
    return text


def network(loaded: genforge.LoadedModel) -> str:
    """What the defaults built, in a few words."""
    model, run = loaded.model, loaded.config
    described = model.describe()
    options = run.model
    if "network" in described:  # diffusion: the U-Net's widths
        widths = [b.conv2.out_channels for b in model.net.down]  # type: ignore[union-attr]
        return f"U-Net {widths}"
    if "likelihood" in described:
        return f"{described['arch']} VAE, z {model.latent_dim}, {described['likelihood']}"
    return f"DCGAN ngf {options.ngf} ndf {options.ndf}"  # type: ignore[attr-defined]


def measure(model: str, source: str, folder: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Train ``model`` on ``source`` and sample it; its row of the table."""
    clock = Clock(args.warmup, args.warmup + args.steps)
    config = {"model": {"name": model}, "data": {"name": source, "path": str(folder)}, "out": str(out),
              "trainer": {"steps": args.warmup + args.steps, "threads": args.threads, "progress": False,
                          "sample_every": 0, "checkpoint_every": 0, "eval_every": 0,
                          "log_every": args.warmup + args.steps}}
    run = genforge.train(config, plugins=Plugins(extra=[clock]))
    batch = run.config.run.trainer.batch_size
    train_cpu, train_wall = clock.rates(args.steps * batch)
    loaded = genforge.load(out, device="cpu")
    sample_cpu, sample_wall = sampling_rates(loaded, args.batch, args.min_seconds)
    options = loaded.sampler_options
    sampler = "one pass" if options is None else \
        f"{options.sampler} {options.steps}" + (f", guidance {options.guidance}"  # type: ignore[attr-defined]
                                                if getattr(options, "guidance", 0) else "")
    return {"model": model, "shape": SOURCES[source][0], "network": network(loaded),
            "parameters": loaded.model.describe()["parameters"], "batch": batch,
            "train": rate_text(train_cpu, train_wall), "sample": rate_text(sample_cpu, sample_wall),
            "sampler": sampler}


def table(rows: list[dict[str, Any]], args: argparse.Namespace, command: str) -> list[str]:
    """The marked section of ``docs/results.md``: how it was measured, then the table."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        "## Throughput on 28x28 and 32x32 images", "",
        "Every first-party family at its default settings on 28x28 grey (`mnist`) and 32x32 RGB "
        "(`cifar10`, which flips batches by default) images of random pixels: training images/s over "
        f"{args.steps} steps after {args.warmup} warm-up steps (at the batch the family suggests), and "
        f"sampling images/s drawing batches of {args.batch} with the default sampler. Rates are per "
        "second of CPU time of one torch thread (an idle core's wall-clock); the wall-clock rate on "
        "this shared machine is in brackets where it differs by more than 10%. Measured by:", "",
        "```", command, "```", "",
        f"Machine: {os.cpu_count()} CPU cores ({platform.machine()}), torch {_torch_version()}, "
        f"{args.threads} thread(s), load average {load:.1f} at the end. GPU figures are not measured yet.",
        "",
        "| family | data | network (defaults) | parameters | batch | training images/s | "
        "sampling images/s | sampler |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| `{r['model']}` | {r['shape']} | {r['network']} | {r['parameters']:,} | {r['batch']} | "
          f"{r['train']} | {r['sample']} | {r['sampler']} |" for r in rows),
    ]


def _torch_version() -> str:
    import torch

    return torch.__version__


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Measure every family on both shapes; print the table (and write it with ``--results``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated families")
    parser.add_argument("--sources", default=",".join(SOURCES), help="mnist, cifar10 or both")
    parser.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps")
    parser.add_argument("--batch", type=int, default=64, help="samples per sampling batch")
    parser.add_argument("--min-seconds", type=float, default=2.0, help="least CPU time spent sampling")
    parser.add_argument("--results", type=Path, help="write the section into this markdown file")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    given = list(argv if argv is not None else sys.argv[1:])
    if "--results" in given:  # where the table goes, not what was measured
        del given[given.index("--results"): given.index("--results") + 2]
    command = " ".join(["OMP_NUM_THREADS=1 python benchmarks/throughput.py", *given])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in args.sources.split(","):
            folder = Path(tmp) / source
            folder.mkdir()
            SOURCES[source][1](folder, np.random.default_rng(0))
            for model in args.models.split(","):
                rows.append(measure(model, source, folder, Path(tmp) / f"{model}-{source}", args))
                print(rows[-1], flush=True)
    lines = table(rows, args, command)
    print("\n".join(lines))
    if args.results:
        replace_block(args.results, "throughput", lines, append=True)
    return rows


if __name__ == "__main__":
    main()
