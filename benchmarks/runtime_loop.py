"""The runtime's sampling loop: time per step against one bare session.run, and the step export.

Trains the test iterative family (tests/iterative_family: a conditional DDPM whose step
network is an MLP, default width) for one step on 8x8 digits, exports it with the
sampler's defaults set to 10, 100 and 1,000 steps, and prints each export's time and
size beside the weights'. Then it times, alternating in one process at batch 64:

  session.run   one call of the step graph on prepared inputs (x, t, labels, aux, coef):
                the network and the sampler's update after it (the exported graph holds both)
  ddpm          genforge_runtime's sample(64, steps=S, sampler="ddpm") divided by S: the
                session calls plus the step's noise (a fresh float32 normal per value,
                computed by the noise contract before each call)
  dpmpp_2m      the same with DPM-Solver++(2M), which draws no noise

and prints each over session.run (the loop's overhead) as the median of the rounds'
ratios: each round times the three one after the other, so that the pair shares the
machine's state (on a shared 2-core machine a busy neighbour slows everything for seconds).

    python benchmarks/runtime_loop.py                 # from the repository root
    python benchmarks/runtime_loop.py --rounds 5 --steps 200 --threads 1
    python benchmarks/runtime_loop.py --rounds 0      # the exports alone, no timing
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test family lives in tests/

from tests.iterative_family import plugin as tiny_plugin  # noqa: E402

import genforge  # noqa: E402
import genforge_runtime  # noqa: E402
from genforge.plugins import Plugins  # noqa: E402
from genforge_onnx.onnx_exporter import exporter  # noqa: E402


def export_sizes(loaded: genforge.LoadedModel, out: Path, weights: Path) -> Path:
    """Export with 10, 100 and 1,000 default steps; print time and size of each; return the last."""
    print(f"weights (model.safetensors): {weights.stat().st_size:,} bytes; limit 1.2x + 100 KB = "
          f"{1.2 * weights.stat().st_size + 100_000:,.0f} bytes")
    path = out
    for steps in (10, 100, 1000):
        loaded.set_sampler_options(steps=steps)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            path = exporter.export(loaded, out / f"tinyddpm-{steps}.onnx", {})
        print(f"export, sampler default {steps:>4} steps: {time.perf_counter() - start:5.1f} s, "
              f"{path.stat().st_size:,} bytes")
    return path


def tiny_step_model(root: Path, hidden: int | None = None) -> genforge.LoadedModel:
    """The test family trained one step on 8x8 digits under ``root`` (step network ``hidden`` wide)."""
    plugins = Plugins(extra=[tiny_plugin])
    with contextlib.redirect_stdout(io.StringIO()):
        width = {"hidden": hidden} if hidden else {}
        genforge.train({"model": {"name": "tinyddpm", **width}, "data": {"name": "digits", "size": 8},
                        "trainer": {"steps": 1, "batch_size": 8, "progress": False,
                                    "sample_every": 0, "checkpoint_every": 0},
                        "out": str(root / "run")}, plugins=plugins)
    return genforge.load(root / "run", device="cpu", plugins=plugins)


def main() -> None:
    """Train, export, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="sampling steps per timed call")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=11, help="alternating rounds (median; 0: only "
                        "the exports, no timing)")
    parser.add_argument("--threads", type=int, help="onnxruntime CPU threads (default: one per core)")
    parser.add_argument("--hidden", type=int, help="width of the step network (default: the family's)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        loaded = tiny_step_model(root, args.hidden)
        path = export_sizes(loaded, root, loaded.path / "model.safetensors")
        if args.rounds == 0:
            return
        sampler = genforge_runtime.load(path, device="cpu", threads=args.threads)
        n, steps = args.batch, args.steps
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, 1, 8, 8), dtype=np.float32)
        feeds = {"x": x, "t": np.full(n, 500.0, dtype=np.float32), "labels": rng.integers(0, 10, n),
                 "aux": rng.standard_normal(x.shape, dtype=np.float32),
                 "coef": np.array([1.0, -0.1, 0.1, 0.0, 0.0], dtype=np.float32)}
        session = sampler.session
        engines = {"session.run": (lambda: session.run(None, feeds), 1)}
        for kind in ("ddpm", "dpmpp_2m"):
            engines[kind] = (lambda k=kind: sampler.sample(n, labels=3, steps=steps, sampler=k), steps)
        calls = {}
        for name, (fn, _) in engines.items():
            fn()
            start = time.perf_counter()
            fn()
            calls[name] = max(1, int(0.2 / (time.perf_counter() - start)))
        times: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(args.rounds):
            for name, (fn, per) in engines.items():
                start = time.perf_counter()
                for _ in range(calls[name]):
                    fn()
                times[name].append((time.perf_counter() - start) / (calls[name] * per))
        run = statistics.median(times["session.run"])
        print(f"\nstep network width {loaded.config.model.hidden}, batch {n}, {steps} steps per call, "
              f"{args.rounds} alternating rounds; session.run of the step graph: {run * 1e6:,.1f} us "
              "(median)")
        print("| sampler | runtime, per sampling step (median) | over one session.run (median of the "
              "rounds' ratios) | rounds' ratios, min to max |")
        print("|---|---|---|---|")
        for kind in ("ddpm", "dpmpp_2m"):
            ratios = [a / b for a, b in zip(times[kind], times["session.run"], strict=True)]
            print(f"| {kind} | {statistics.median(times[kind]) * 1e6:,.1f} us | "
                  f"{statistics.median(ratios):.3f} | {min(ratios):.3f} to {max(ratios):.3f} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
