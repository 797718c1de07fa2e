"""The ``genforge`` command line: a thin layer over ``genforge.api``.

Only argparse and the plugin manager load at start; torch is imported inside the
handlers that need it, so ``genforge --help`` and ``genforge plugins`` stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genforge import __version__
from genforge.errors import GenforgeError
from genforge.plugins import Plugins, default_plugins


class CommandRegistry:
    """What ``genforge_register_commands`` receives: adds subcommands to the CLI."""

    def __init__(self, subparsers: Any) -> None:
        self._subparsers = subparsers

    def add_command(self, name: str, help: str = "", **kwargs: Any) -> argparse.ArgumentParser:
        """Add a subcommand; set its handler with ``parser.set_defaults(handler=fn)``."""
        return self._subparsers.add_parser(name, help=help, description=help, **kwargs)


def parse_labels(text: str | None, n: int, num_classes: int) -> tuple[list[int] | None, int | None]:
    """Parse ``--labels`` (``3``, ``0,1,2`` or ``all``) into per-sample labels and a grid width.

    A list shorter than ``n`` that divides it repeats each label ``n / len`` times in a
    row, so ``-n 100 --labels all`` on ten classes gives one row per class.
    """
    if text is None:
        return None, None
    if text.strip() == "all":
        wanted = list(range(num_classes))
    else:
        try:
            wanted = [int(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise GenforgeError(f"--labels {text!r}: expected an integer, a comma-separated "
                                "list of integers, or 'all'") from None
    if not wanted:
        raise GenforgeError(f"--labels {text!r}: no labels given")
    if len(wanted) == 1:
        return wanted * n, None
    if n % len(wanted):
        raise GenforgeError(f"--labels: {len(wanted)} labels do not divide -n {n}; give 1, "
                            f"{n}, or a divisor of {n} labels")
    per = n // len(wanted)
    return [c for c in wanted for _ in range(per)], (per if per > 1 else None)


def launch_torchrun(nproc: int, argv: Sequence[str]) -> int:
    """Re-run this ``genforge train`` command under ``torchrun`` with ``nproc`` processes."""
    import subprocess

    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "genforge", *rest]
    return subprocess.call(cmd)


def cmd_train(args: argparse.Namespace) -> int:
    """Handle ``genforge train`` (under ``--nproc N``, by launching torchrun)."""
    import os

    if args.nproc and args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return launch_torchrun(args.nproc, args.argv)

    from genforge.api import train

    overrides = list(args.set or [])
    if args.no_progress:
        overrides.append("trainer.progress=false")
    run = train(args.config, resume=args.resume, model=args.model, data=args.data,
                steps=args.steps, out=args.out, device=args.device, overrides=overrides)
    if not run.process.main:
        return 0
    print(f"checkpoint: {run.checkpoint}")
    grids = sorted((run.out / "samples").glob("*.png"))
    if grids:
        print(f"samples:    {grids[-1]}")
    print(f"metrics:    {run.out / 'metrics.jsonl'}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Handle ``genforge sample`` (plain samples, reconstructions, or a class sweep)."""
    from genforge.api import load
    from genforge.images import save_samples

    loaded = load(args.checkpoint, device=args.device, ema=not args.no_ema)
    try:
        if args.reconstruct:
            from genforge.evaluate import reconstruction_grid

            samples, nrow = reconstruction_grid(loaded, args.n), 2 * min(8, args.n)
            what = "input/reconstruction pairs"
        elif args.class_sweep:
            samples, nrow = loaded.class_sweep(args.n, seed=args.seed), loaded.info.num_classes
            what = "class sweeps"
        else:
            labels, nrow = parse_labels(args.labels, args.n, loaded.info.num_classes)
            samples, what = loaded.sample(args.n, labels=labels, seed=args.seed), "samples"
        path = save_samples(samples.numpy(), args.out, nrow=nrow)
    except ValueError as e:
        raise GenforgeError(str(e)) from None
    print(f"wrote {args.n} {what} from {loaded.path} to {path}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Handle ``genforge eval``: metrics over seeds as a table (and optionally JSON)."""
    import json

    from genforge.api import load
    from genforge.evaluate import evaluate

    loaded = load(args.checkpoint, device=args.device, ema=not args.no_ema)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    results = evaluate(loaded, metrics, n=args.n, seeds=args.seeds, options={"k": args.k},
                       plugins=args.plugins)
    print(f"{loaded.path}: {args.seeds} seeds, n={args.n} generated samples, k={args.k}")
    print(f"{'value':24s} {'mean':>12s} {'± std':>10s}")
    for key, summary in results.items():
        print(f"{key:24s} {summary['mean']:12.4f} {summary['std']:10.4f}")
    if args.json:
        payload = {"checkpoint": str(loaded.path), "n": args.n, "seeds": args.seeds, "k": args.k,
                   "results": results}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Handle ``genforge export``: hand a loaded checkpoint to the exporter named by ``--format``."""
    from genforge.api import load

    entry = args.plugins.get("exporters", args.format)
    exporter = entry.load()
    loaded = load(args.checkpoint, device="cpu", ema=not args.no_ema)
    options = {"opset": args.opset, "fp16": args.fp16, "output": args.output, "part": args.part}
    path = exporter.export(loaded, Path(args.out), options)
    print(f"exported {loaded.path} to {path}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """Handle ``genforge plugins``: installed plugins, their names and hooks, and failures."""
    plugins: Plugins = args.plugins
    registries = plugins.registries
    for record in plugins.records:
        status = f"BROKEN: {record.error}" if record.error else ", ".join(record.hooks) or "no hooks"
        print(f"{record.name}  ({record.label})")
        print(f"  hooks: {status}")
        for kind, names in record.registered.items():
            print(f"  {kind}: {', '.join(names)}")
    for message in plugins.conflicts:
        print(f"CONFLICT: {message}")
    if args.verbose:
        for kind, table in registries.items():
            for name, entry in sorted(table.items()):
                print(f"{kind[:-1]:12s} {name:14s} {entry.summary}")
    return 1 if plugins.conflicts else 0


def cmd_plugins_available(args: argparse.Namespace) -> int:
    """Handle ``genforge plugins available``: the catalogue in ``registry.toml``."""
    from genforge.catalogue import read_catalogue

    installed = {r.dist for r in args.plugins.records if r.error is None}
    for item in read_catalogue(args.registry):
        mark = "installed" if item.distribution in installed else "not installed"
        print(f"{item.name:12s} {item.distribution:20s} {mark:14s} {item.summary}")
    return 0


def build_parser(plugins: Plugins) -> argparse.ArgumentParser:
    """Build the argument parser, including subcommands that plugins add."""
    parser = argparse.ArgumentParser(prog="genforge", description="Train, sample and export "
                                     "generative models; model families come from plugins.")
    parser.add_argument("--version", action="version", version=f"genforge {__version__}")
    parser.set_defaults(handler=lambda a: (parser.print_help(), 0)[1], plugins=plugins)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("train", help="train a model", description="Train a model from a TOML "
                       "config and/or flags; `--set section.key=value` overrides any option.")
    p.add_argument("config", nargs="?", help="run config (TOML)")
    p.add_argument("--model", help="model family name (see `genforge plugins`)")
    p.add_argument("--data", help="data source name (default: digits)")
    p.add_argument("--steps", type=int, help="total training steps")
    p.add_argument("--out", help="run folder (default: runs/MODEL-DATA)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override an option")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest "
                   "checkpoint")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--nproc", type=int, help="train with N processes (launches torchrun; gloo on CPU, "
                   "NCCL on GPUs)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("sample", help="sample a trained model to a PNG grid or .npy file")
    p.add_argument("checkpoint", help="run folder (latest checkpoint) or checkpoint folder")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights even if the run kept an EMA")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--labels", help="conditional models: 3, 0,1,2 (one per row) or all")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="FILE.png (grid) or FILE.npy (float32 N,C,H,W)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--reconstruct", action="store_true",
                      help="held-out inputs beside their reconstructions (models with reconstruct)")
    mode.add_argument("--class-sweep", action="store_true",
                      help="conditional models: each row one latent rendered under every class")
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("eval", help="evaluate a trained model with registered metrics",
                       description="Run metrics over several seeds; prints mean and spread.")
    p.add_argument("checkpoint", help="run folder (latest checkpoint) or checkpoint folder")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights even if the run kept an EMA")
    p.add_argument("--metrics", default="nll", help="comma-separated metric names (default nll)")
    p.add_argument("--n", type=int, default=1000, help="generated samples per seed (default 1000)")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (default 3)")
    p.add_argument("--k", type=int, default=100, help="importance samples for nll (default 100)")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("export", help="export a trained model with a registered exporter",
                       description="Export a checkpoint's generator (or decoder) for deployment.")
    p.add_argument("checkpoint", help="run folder (latest checkpoint) or checkpoint folder")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights even if the run kept an EMA")
    p.add_argument("--format", default="onnx", help="exporter name (see `genforge plugins -v`)")
    p.add_argument("--out", required=True, help="output file or folder")
    p.add_argument("--opset", type=int, help="ONNX opset (default: the exporter's)")
    p.add_argument("--fp16", action="store_true", help="store weights in float16")
    p.add_argument("--output", choices=["float", "uint8"], default="float",
                   help="float [N,C,H,W] in [0,1] (default) or uint8 [N,H,W,C]")
    p.add_argument("--part", default=None, help="which network, e.g. decoder or encoder (VAE)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("plugins", help="list installed plugins (or the catalogue)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list every registered name")
    p.set_defaults(handler=cmd_plugins)
    psub = p.add_subparsers(metavar="ACTION")
    pa = psub.add_parser("available", help="list the plugins catalogued in registry.toml")
    pa.add_argument("--registry", type=Path, help="catalogue file (default: the bundled one)")
    pa.set_defaults(handler=cmd_plugins_available)

    plugins.hook.genforge_register_commands(cli=CommandRegistry(sub))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``genforge`` command."""
    try:
        plugins = default_plugins()
        argv = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(plugins).parse_args(argv)
        args.argv = argv
        return int(args.handler(args) or 0)
    except GenforgeError as e:
        print(f"genforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
