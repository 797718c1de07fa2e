"""Samples per second: genforge_runtime (onnxruntime) against PyTorch eager on the same graph.

For each installed family (gan and cgan: DCGAN at 32x32 with default widths; vae and cvae:
their default decoders on 8x8 digits) this trains one step (speed does not depend on the
weights), exports with genforge-onnx, then times, alternating in one process:

  torch eager   the exported module under torch.inference_mode, z drawn with torch.randn
  raw ORT       the sampler's own InferenceSession.run on pre-drawn inputs (no sampler overhead)
  runtime       genforge_runtime.Sampler.sample(n): takes a fresh seed from the OS, computes z
                (and labels) by the noise contract, validates, runs
  runtime seed  the same with sample(n, seed=i)

With CUDA (torch.cuda and onnxruntime-gpu both usable) it adds the CUDA provider in fp32
and fp16 against PyTorch CUDA eager; both sides then copy the samples back to the host.

    python benchmarks/onnx_vs_torch.py                 # all families, batches 1 64 512
    python benchmarks/onnx_vs_torch.py --families gan --rounds 3 --threads 1
    python benchmarks/onnx_vs_torch.py --batches       # exports and their verification only
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import genforge
import genforge_runtime
from genforge_onnx.onnx_exporter import exporter

FAMILIES = {
    "gan": {"model": {"name": "gan"}, "data": {"name": "digits", "size": 32}},
    "cgan": {"model": {"name": "cgan"}, "data": {"name": "digits", "size": 32}},
    "vae": {"model": {"name": "vae"}, "data": {"name": "digits"}},
    "cvae": {"model": {"name": "cvae"}, "data": {"name": "digits"}},
}


def train_one_step(family: str, out: Path) -> genforge.LoadedModel:
    """A checkpoint of ``family`` at its benchmark size after a single training step."""
    cfg = {**FAMILIES[family], "out": str(out / family),
           "trainer": {"steps": 1, "batch_size": 8, "progress": False, "sample_every": 0,
                       "checkpoint_every": 0}}
    genforge.train(cfg)
    return genforge.load(out / family, device="cpu")


def rate(fn: Callable[[int], object], n: int, calls: int, sync: Callable[[], None]) -> float:
    """Samples per second of ``calls`` calls of ``fn`` at batch ``n``."""
    sync()
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    sync()
    return n * calls / (time.perf_counter() - start)


def compare(engines: dict[str, Callable[[int], object]], n: int, rounds: int, seconds: float,
            sync: Callable[[], None]) -> dict[str, float]:
    """Median samples/s per engine, the engines alternating round by round."""
    calls = {}
    for name, fn in engines.items():  # warm up, then size each round to about `seconds`
        fn(0)
        t = time.perf_counter()
        fn(1)
        sync()
        calls[name] = max(1, int(seconds / max(time.perf_counter() - t, 1e-6)))
    results: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, fn in engines.items():
            results[name].append(rate(fn, n, calls[name], sync))
    return {name: statistics.median(v) for name, v in results.items()}


def cpu_engines(loaded: genforge.LoadedModel, path: Path, n: int,
                threads: int | None) -> dict[str, Callable[[int], object]]:
    """torch eager, raw onnxruntime and genforge_runtime on the CPU."""
    module, _, _, _ = loaded.model.export_module()
    module.eval()
    latent, k = loaded.model.latent_dim, loaded.info.num_classes
    conditional = loaded.model.conditional
    sampler = genforge_runtime.load(path, device="cpu", threads=threads)
    session = sampler.session  # one session: two thread pools would compete for the cores
    rng = np.random.default_rng(0)
    feeds = {"z": rng.standard_normal((n, latent), dtype=np.float32)}
    if conditional:
        feeds["labels"] = rng.integers(0, k, n)

    def eager(i: int) -> object:
        """One PyTorch eager call at batch ``n`` (z and labels drawn with torch)."""
        with torch.inference_mode():
            z = torch.randn(n, latent)
            return module(z, torch.randint(0, k, (n,))) if conditional else module(z)

    return {"torch eager": eager,
            "raw ORT": lambda i: session.run(None, feeds),
            "runtime": lambda i: sampler.sample(n),
            "runtime seed": lambda i: sampler.sample(n, seed=i)}


def cuda_engines(loaded: genforge.LoadedModel, paths: dict[str, Path], n: int
                 ) -> dict[str, Callable[[int], object]]:
    """torch CUDA eager (fp32) and genforge_runtime on the CUDA provider (fp32, fp16)."""
    module, _, _, _ = loaded.model.export_module()
    module = copy.deepcopy(module).to("cuda").eval()  # a copy: the CPU engines keep theirs
    latent, k = loaded.model.latent_dim, loaded.info.num_classes
    conditional = loaded.model.conditional
    engines: dict[str, Callable[[int], object]] = {}

    def eager(i: int) -> object:
        """One PyTorch CUDA eager call at batch ``n``, samples copied to the host."""
        with torch.inference_mode():
            z = torch.randn(n, latent, device="cuda")
            y = torch.randint(0, k, (n,), device="cuda") if conditional else None
            return (module(z, y) if conditional else module(z)).cpu()

    engines["torch CUDA eager"] = eager
    for precision, path in paths.items():
        sampler = genforge_runtime.load(path, device="cuda")
        engines[f"runtime CUDA {precision}"] = lambda i, s=sampler: s.sample(n, seed=i)
    return engines


Rows = list[tuple[str, int, dict[str, float]]]  # (family, batch, samples/s per engine)
#: What "runtime" should reach of raw ORT: its own cost is then at most a tenth.
TARGET = 0.90


def shown(rows: Rows) -> Rows:
    """``rows`` with each rate rounded as the tables show it, so that every ratio printed (and
    every sentence of ``reading``) follows from the table alone."""
    return [(family, n, {m: float(round(v)) for m, v in r.items()}) for family, n, r in rows]


def table(rows: Rows, base: str) -> str:
    """A markdown table: samples/s per engine and each engine's ratio to ``base``."""
    names = list(rows[0][2])
    head = ["family", "batch", *[f"{m} (samples/s)" for m in names],
            *[f"{m} / {base}" for m in names if m != base]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for family, n, r in shown(rows):
        cells = [family, str(n), *[f"{r[m]:,.0f}" for m in names],
                 *[f"{r[m] / r[base]:.2f}x" for m in names if m != base]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spoken(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def reading(rows: Rows) -> list[str]:
    """What the CPU table says, as markdown bullets: every figure follows from the table's own
    (rounded) numbers, so docs/deploy.md's sentences are checked against its table."""
    rows = shown(rows)
    below = [f"`{f}` at batch {n} ({r['runtime'] / r['raw ORT']:.2f}x)" for f, n, r in rows
             if float(f"{r['runtime'] / r['raw ORT']:.2f}") < TARGET]
    lines = [f'- "runtime" reached {TARGET:.2f}x of raw ORT or more in {len(rows) - len(below)} of the '
             f"{len(rows)} rows" + (f"; below it: {spoken(below)}." if below else ".")]
    batches = sorted({n for _, n, _ in rows})
    at = {n: [(f, r) for f, b, r in rows if b == n] for n in batches}
    if 1 in at:
        calls = spoken([f"{1e6 / r['raw ORT']:,.0f} us (`{f}`)" for f, r in at[1]])
        extra = spoken([f"{1e6 / r['runtime'] - 1e6 / r['raw ORT']:,.0f}" for _, r in at[1]])
        seeded = spoken([f"{1e6 / r['runtime seed'] - 1e6 / r['runtime']:+,.0f}" for _, r in at[1]])
        lines.append(f'- At batch 1 one raw ORT call takes {calls}; a "runtime" call takes {extra} us '
                     f"longer (drawing `z` and the labels, the checks); a seeded call's time differs "
                     f"from an unseeded one's by {seeded} us.")
    per_batch = [spoken([f"{r['runtime'] / r['torch eager']:.2f}x" + (f" (`{f}`)" if n == batches[0] else "")
                         for f, r in at[n]]) + f" at batch {n}" for n in batches]
    lines.append(f'- Against PyTorch eager, "runtime" runs {spoken(per_batch)} as many samples per second.')
    return lines


def verification_table(rows: list[tuple[str, str, Path]]) -> str:
    """Max |onnxruntime - PyTorch| and tolerance per export, read back from each file's manifest."""
    lines = ["| family | export | max abs error | tolerance | file size |", "|---|---|---|---|---|"]
    for family, variant, path in rows:
        info = genforge_runtime.load(path, device="cpu").info
        lines.append(f"| {family} | {variant} | {info['max_abs_error']:.2g} | {info['tolerance']:g} | "
                     f"{path.stat().st_size / 1024:,.0f} KiB |")
    return "\n".join(lines)


def main() -> None:
    """Run the comparison and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="*", help="default: every installed one of "
                        + ", ".join(FAMILIES))
    parser.add_argument("--batches", nargs="*", type=int, default=[1, 64, 512],
                        help="batch sizes to time (none: only export and verify)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (median)")
    parser.add_argument("--seconds", type=float, default=0.15, help="length of one round per engine")
    parser.add_argument("--threads", type=int, help="CPU threads for both torch and onnxruntime "
                        "(default: each library's own, one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    registered = genforge.Plugins().names("models")
    families = args.families or [f for f in FAMILIES if f in registered]
    cuda = torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers()
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {ort.__version__} "
          f"({args.threads or 'default'} threads), "
          f"{os.cpu_count()} CPUs, CUDA {'yes' if cuda else 'no'}; load average before: "
          f"{os.getloadavg()[0]:.2f}")
    cpu_rows, cuda_rows, exports = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for family in families:
            with contextlib.redirect_stdout(io.StringIO()):
                loaded = train_one_step(family, out)
                paths = {variant: exporter.export(loaded, out / f"{family}-{variant}.onnx", options)
                         for variant, options in (("fp32", {}), ("fp16", {"fp16": True}),
                                                  ("uint8", {"output": "uint8"}))}
            exports += [(family, variant, path) for variant, path in paths.items()]
            for n in args.batches:
                engines = cpu_engines(loaded, paths["fp32"], n, args.threads)
                cpu_rows.append((family, n, compare(engines, n, args.rounds, args.seconds, lambda: None)))
                if cuda:
                    try:
                        engines = cuda_engines(loaded, {"fp32": paths["fp32"], "fp16": paths["fp16"]}, n)
                    except genforge_runtime.RuntimeUnavailable as e:
                        print(f"no CUDA rows: {e}")
                        cuda = False
                        continue
                    cuda_rows.append((family, n, compare(engines, n, args.rounds, args.seconds,
                                                         torch.cuda.synchronize)))
        print("\nExport verification (onnxruntime CPU vs PyTorch, batches 1, 7, 64)\n"
              + verification_table(exports))
    if cpu_rows:
        print("\nCPU, samples/s (median of alternating rounds)\n" + table(cpu_rows, "torch eager"))
        print("\nCPU, the runtime's own cost: each engine against raw ORT "
              f"(target: runtime >= {TARGET:.2f}x)\n" + table(cpu_rows, "raw ORT"))
        print("\nReading the CPU tables\n" + "\n".join(reading(cpu_rows)))
    if cuda_rows:
        print("\nCUDA, samples/s (median of alternating rounds)\n" + table(cuda_rows, "torch CUDA eager"))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
