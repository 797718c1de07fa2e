"""The ``genforge-run`` command: sample a genforge ONNX file to a PNG grid or a .npy file."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from genforge_runtime.arguments import count, cpus, seed
from genforge_runtime.backend import check_onnxruntime
from genforge_runtime.errors import printable, report
from genforge_runtime.grid import save_png
from genforge_runtime.npy import write_npy
from genforge_runtime.sampler import OPTION_NAMES, load
from genforge_runtime.sizes import check_output, gather, size_text

#: Samples per session call unless ``--batch-size`` says otherwise.
DEFAULT_BATCH = 1000


def parse_labels(text: str | None, n: int, num_classes: int) -> tuple[list[int] | int | None, int | None]:
    """``3``, ``0,1,2`` or ``all`` -> per-sample labels and the grid width (as ``genforge sample``).

    A list shorter than ``n`` that divides it repeats each label ``n / len`` times in a row,
    so ``-n 100 --labels all`` on ten classes gives one grid row per class.
    """
    if text is None:
        return None, None
    if num_classes <= 0:
        raise ValueError(f"--labels {text!r}: this model is not conditional (it takes no labels)")
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
        return wanted[0], None
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
    p.add_argument("-n", type=count, default=64, help="number of samples (default 64)")
    p.add_argument("--labels", help="conditional models: 3, 0,1,2 (one row each) or all")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if usable, else CPU), cuda, cuda:N or cpu")
    p.add_argument("--batch-size", type=count, default=DEFAULT_BATCH, help="samples per onnxruntime call "
                   f"(default {DEFAULT_BATCH}; the samples do not depend on it, memory does)")
    p.add_argument("--steps", type=count, help="iterative models: sampling steps (default: the file's)")
    p.add_argument("--guidance", type=float, help="iterative conditional models: classifier-free "
                   "guidance scale (0 or 1: off; default: the file's)")
    p.add_argument("--sampler", help="iterative models: ddpm, ddim, dpmpp_2m (diffusion), euler, heun "
                   "(flow) (default: the file's)")
    p.add_argument("--eta", type=float, help="ddim: noise scale (0 deterministic; default: the file's)")
    p.add_argument("--threads", type=cpus, help="onnxruntime CPU threads, at most one per core "
                   "(default: one per core)")
    p.add_argument("--out", required=True, help="FILE.png (grid or plot, needs Pillow) or FILE.npy")
    p.add_argument("-v", "--verbose", action="store_true", help="log which provider was chosen and why")
    p.add_argument("--debug", action="store_true", help="on an error, also print its traceback "
                   "(as GENFORGE_DEBUG=1)")
    return p


def run(args: argparse.Namespace) -> int:
    """Sample and write the output file."""
    check_onnxruntime()
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise ValueError(f"--out {out}: expected a .png or .npy file")
    sampler = load(args.model, device=args.device, threads=args.threads)
    labels, nrow = parse_labels(args.labels, args.n, sampler.num_classes if sampler.conditional else 0)
    options = {k: v for k in OPTION_NAMES if (v := getattr(args, k)) is not None}
    layout = str(sampler.info.get("output_layout", ""))
    check_output(out, f"-n {args.n}", args.n, sampler.sample_shape, sampler.dtype, layout=layout, nrow=nrow)
    batches = sampler.batches(args.n, labels=labels, seed=args.seed, batch_size=args.batch_size, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        write_npy(out, (args.n, *sampler.sample_shape), sampler.dtype, batches)
    else:
        save_png(gather(args.n, sampler.sample_shape, sampler.dtype, batches), layout, out, nrow=nrow)
    print(f"wrote {args.n} samples of {printable(sampler.info['genforge.model'])} ({sampler.provider}) "
          f"to {out} ({size_text(out.stat().st_size)})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``genforge-run``; errors print one line and exit 2 (the traceback under ``--debug``)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return run(args)
    except KeyboardInterrupt:
        print("genforge-run: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # onnxruntime's exceptions derive from Exception only
        return report(e, args.debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
