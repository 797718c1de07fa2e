"""Multi-process scaling on CPU: 1 vs N processes under torchrun with gloo.

Trains ``gan`` on 16x16 digits with the same global batch in 1 process (all threads)
and in N processes (threads split evenly), alternating, and prints images/s from
``metrics.jsonl`` (after the first log line) and the final losses of both, which should
be alike (the noise draws differ between the two set-ups, so they are not equal).
Exact equality with a deterministic model is tested in ``tests/test_distributed.py``.
Run: ``python benchmarks/ddp_scaling.py [--nproc 2] [--steps 60]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch


def run(nproc: int, steps: int, batch: int, threads: int) -> tuple[float, dict[str, float]]:
    """Train once; return images/s after the first log line and the last logged losses."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "genforge", "train", "--model", "gan", "--out", out,
               "--steps", str(steps), "--no-progress", "--set", f"trainer.batch_size={batch}",
               "--set", "trainer.log_every=10", "--set", "trainer.sample_every=0",
               "--set", "trainer.checkpoint_every=0", "--nproc", str(nproc)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        lines = [json.loads(x) for x in (Path(out) / "metrics.jsonl").open()]
    first, last = lines[0], lines[-1]
    rate = (last["step"] - first["step"]) * batch / (last["time_s"] - first["time_s"])
    return rate, {k: v for k, v in last.items() if k.startswith("loss")}


def main() -> None:
    """Alternate 1 and N processes and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2, help="processes to compare with 1 (default 2)")
    parser.add_argument("--steps", type=int, default=60, help="steps per run (default 60)")
    parser.add_argument("--batch", type=int, default=64, help="global batch (default 64)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per side (default 2)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rates: dict[int, list[float]] = {1: [], args.nproc: []}
    losses: dict[int, dict[str, float]] = {}
    for _ in range(args.rounds):
        for n in (1, args.nproc):
            rate, losses[n] = run(n, args.steps, args.batch, max(1, cores // n))
            rates[n].append(rate)
    print(f"gan on 16x16 digits, global batch {args.batch}, {args.steps} steps, {cores} cores, "
          f"torch {torch.__version__}, median of {args.rounds}")
    for n, values in rates.items():
        print(f"{n} process(es): {statistics.median(values):8.1f} images/s   last losses {losses[n]}")
    print(f"scaling: {statistics.median(rates[args.nproc]) / statistics.median(rates[1]):.2f}x")


if __name__ == "__main__":
    main()
