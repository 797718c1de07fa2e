"""Sampling speed of the iterative models: genforge_runtime (onnxruntime) against PyTorch eager.

For ddpm, cddpm, fm and cfm (installed with genforge-diffusion; default config, 8x8
digits, default sample-time options) this trains one step (speed does not depend on the
weights), exports with genforge-onnx, then times whole sampling calls, alternating in one
process:

  torch eager   genforge.load(run).sample(n, seed=i): the family's loop in PyTorch
  runtime       genforge_runtime.load(file).sample(n, seed=i): the same sampler, one
                session call per network call (with guidance one call at twice the batch),
                step noise computed by the noise contract before each call

and prints samples/s at each batch size and the runtime over torch eager.

    OMP_NUM_THREADS=1 python benchmarks/iterative_speed.py --threads 1
    python benchmarks/iterative_speed.py --models cfm --batches 1 64 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import genforge
import genforge_runtime
from genforge_onnx.onnx_exporter import exporter

MODELS = ("ddpm", "cddpm", "fm", "cfm")


def median_rate(engines: dict[str, Callable[[int], object]], n: int, rounds: int) -> dict[str, float]:
    """Median samples/s of each engine over ``rounds`` alternating rounds of about 0.5 s."""
    calls = {}
    for name, fn in engines.items():
        fn(0)
        start = time.perf_counter()
        fn(1)
        calls[name] = max(1, int(0.5 / (time.perf_counter() - start)))
    rates: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, fn in engines.items():
            start = time.perf_counter()
            for i in range(calls[name]):
                fn(i)
            rates[name].append(n * calls[name] / (time.perf_counter() - start))
    return {name: statistics.median(v) for name, v in rates.items()}


def main() -> None:
    """Train a step, export, time, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, help="onnxruntime CPU threads (default: one per core)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} thread(s); "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print("| model | sampler (default options) | batch | torch eager (samples/s) | runtime (samples/s) "
          "| runtime / torch eager |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            run = Path(tmp) / name
            with contextlib.redirect_stdout(io.StringIO()):
                genforge.train({"model": {"name": name}, "out": str(run),
                                "trainer": {"steps": 1, "batch_size": 8, "progress": False,
                                            "sample_every": 0, "checkpoint_every": 0}})
                loaded = genforge.load(run, device="cpu")
                path = exporter.export(loaded, Path(tmp) / f"{name}.onnx", {})
            sampler = genforge_runtime.load(path, device="cpu", threads=args.threads)
            options = loaded.sampler_options
            what = f"{options.sampler}, {options.steps} steps" + (
                f", guidance {options.guidance:g}" if getattr(options, "guidance", 0.0) else "")
            for n in args.batches:
                engines: dict[str, Callable[[int], object]] = {
                    "torch eager": lambda i, m=loaded, k=n: m.sample(k, seed=i),
                    "runtime": lambda i, s=sampler, k=n: s.sample(k, seed=i)}
                rates = median_rate(engines, n, args.rounds)
                print(f"| {name} | {what} | {n} | {rates['torch eager']:,.0f} | {rates['runtime']:,.0f} "
                      f"| {rates['runtime'] / rates['torch eager']:.2f}x |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
