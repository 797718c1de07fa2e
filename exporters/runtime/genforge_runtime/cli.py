"""The ``genforge-run`` command: sample a genforge ONNX file to a PNG grid or a .npy file."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genforge_runtime.backend import check_onnxruntime
from genforge_runtime.grid import save_png
from genforge_runtime.sampler import load


def parse_labels(text: str | None, n: int, num_classes: int) -> tuple[list[int] | None, int | None]:
    """``3``, ``0,1,2`` or ``all`` -> per-sample labels and the grid width (as ``genforge sample``).

    A list shorter than ``n`` that divides it repeats each label ``n / len`` times in a row,
    so ``-n 100 --labels all`` on ten classes gives one grid row per class.
    """
    if text is None:
        return None, None
    if text.strip() == "all":
        wanted = list(range(num_classes))
    else:
        try:
            wanted = [int(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise ValueError(f"--labels {text!r}: expected an integer, a comma-separated list of "
                             "integers, or 'all'") from None
    if not wanted:
        raise ValueError(f"--labels {text!r}: no labels given")
    if len(wanted) == 1:
        return wanted * n, None
    if n % len(wanted):
        raise ValueError(f"--labels: {len(wanted)} labels do not divide -n {n}; give 1, {n}, or a "
                         f"divisor of {n} labels")
    per = n // len(wanted)
    return [c for c in wanted for _ in range(per)], (per if per > 1 else None)


def build_parser() -> argparse.ArgumentParser:
    """The ``genforge-run`` argument parser."""
    p = argparse.ArgumentParser(prog="genforge-run", description="Sample a genforge ONNX export "
                                "with onnxruntime (no torch needed).")
    p.add_argument("model", help="a .onnx file written by `genforge export`")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--labels", help="conditional models: 3, 0,1,2 (one row each) or all")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if usable, else CPU), cuda, cuda:N or cpu")
    p.add_argument("--batch-size", type=int, help="samples per onnxruntime call (default: all at once)")
    p.add_argument("--threads", type=int, help="onnxruntime CPU threads (default: one per core)")
    p.add_argument("--out", required=True, help="FILE.png (grid, needs Pillow) or FILE.npy")
    p.add_argument("-v", "--verbose", action="store_true", help="log which provider was chosen and why")
    return p


def run(args: argparse.Namespace) -> int:
    """Sample and write the output file."""
    check_onnxruntime()
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise ValueError(f"--out {out}: expected a .png or .npy file")
    sampler = load(args.model, device=args.device, threads=args.threads)
    labels, nrow = parse_labels(args.labels, args.n, sampler.num_classes)
    samples = sampler.sample(args.n, labels=labels, seed=args.seed, batch_size=args.batch_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, samples, allow_pickle=False)
    else:
        save_png(samples, str(sampler.info.get("output_layout", "")), out, nrow=nrow)
    print(f"wrote {args.n} samples of {sampler.info['genforge.model']} ({sampler.provider}) to {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``genforge-run``; errors print one line and exit 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return run(args)
    except (ValueError, RuntimeError, OSError) as e:  # RuntimeUnavailable is a RuntimeError
        print(f"genforge-run: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
