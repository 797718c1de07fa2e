"""The ``genforge`` command line: a thin layer over ``genforge.api``.

Only argparse and the plugin manager load at start; torch is imported inside the
handlers that need it, so ``genforge --help`` and ``genforge plugins`` stay fast.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genforge import __version__
from genforge.data.shard_format import DEFAULT_SHARD_SIZE
from genforge.errors import GenforgeError, debug_enabled, report
from genforge.plugins import Plugins, default_plugins
from genforge.registrars import CommandRegistrar
from genforge_runtime.arguments import count, cpus, seed

#: What ``genforge sample --out`` writes: a picture, an array, or WAV files (signals).
SAMPLE_SUFFIXES = (".png", ".npy", ".wav")
#: ``genforge plugins new --family-kind`` choices (the scaffold's template sets).
FAMILY_KINDS = ("generic", "gan", "vae")
DEVICE_PATTERN = re.compile(r"(auto|cpu|cuda(:\d+)?)")


def device(text: str) -> str:
    """An argparse type: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    if not DEVICE_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")
    return text


def section_changes(assignments: Sequence[str] | None, section: str, when: str) -> dict[str, Any]:
    """``--set SECTION.KEY=VALUE`` values as a dict; an option of another section is refused (only
    ``section`` changes ``when``, the rest is the checkpoint's)."""
    from genforge.config import apply_override

    raw: dict[str, Any] = {}
    for assignment in assignments or []:
        if not assignment.partition("=")[0].strip().startswith(f"{section}."):
            raise GenforgeError(f"--set {assignment!r}: only {section}.KEY=VALUE options change {when} "
                                "(the other options are the checkpoint's)")
        apply_override(raw, assignment)
    return raw.get(section, {})


def load_for_sampling(args: argparse.Namespace, device: str) -> Any:
    """``genforge.load`` of the checkpoint with the ``--set sampler.*`` changes (nothing is written)."""
    from genforge.api import load

    loaded = load(args.checkpoint, device=device, ema=not args.no_ema, plugins=args.plugins)
    loaded.set_sampler_options(**section_changes(args.set, "sampler", "at sample time"))
    return loaded


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
    if args.out and "RANK" not in os.environ:
        from genforge.runlock import check_free

        check_free(args.out)  # a second trainer stops before torch loads

    from genforge.api import train

    overrides = list(args.set or [])
    if args.no_progress:
        overrides.append("trainer.progress=false")
    if args.threads is not None:
        overrides.append(f"trainer.threads={args.threads}")
    run = train(args.config, resume=args.resume, plugins=args.plugins, model=args.model, data=args.data,
                steps=args.steps, out=args.out, device=args.device, overrides=overrides)
    if run.process.main:
        print(f"checkpoint: {run.checkpoint}")
        grids = sorted((run.out / "samples").glob("*.png"))
        if grids:
            print(f"samples:    {grids[-1]}")
        print(f"metrics:    {run.out / 'metrics.jsonl'}")
    if run.process.distributed:
        # the run is saved and the group destroyed; skip the interpreter's teardown, in which
        # gloo's worker threads now and then abort the process (SIGABRT) and fail torchrun
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Handle ``genforge sample`` (plain samples, reconstructions, or a class sweep).

    The output's size is checked before the first sample (memory, disk, pixels). Plain
    samples to ``.npy`` are written batch by batch, so memory stays bounded by
    ``--batch-size`` whatever ``-n`` is.
    """
    import numpy as np

    from genforge.images import save_samples, save_wav
    from genforge_runtime.cli import parse_labels
    from genforge_runtime.npy import write_npy
    from genforge_runtime.sizes import check_output, gather, size_text

    out = Path(args.out)
    if out.suffix.lower() not in SAMPLE_SUFFIXES:
        raise GenforgeError(f"--out {out}: expected a .png, .npy or .wav file")
    loaded = load_for_sampling(args, args.device)
    classes, shape, rate = loaded.info.num_classes, loaded.info.shape, loaded.info.sample_rate
    if out.suffix.lower() == ".wav" and rate is None:
        raise GenforgeError(f"--out {out}: the model's data has no sample rate to write WAV files at "
                            "(wav-folder data has one); write .npy or .png")
    try:
        labels, nrow, rows = None, None, args.n  # a reconstruction or a sweep is held whole
        if args.reconstruct:
            nrow, rows = 2 * min(8, args.n), 2 * args.n
        elif args.class_sweep:
            nrow, rows = classes, args.n * classes
        else:
            labels, nrow = parse_labels(args.labels, args.n, classes if loaded.model.conditional else 0)
        check_output(out, f"-n {args.n}", rows, shape, np.float32, nrow=nrow,
                     held=args.reconstruct or args.class_sweep)
        if args.reconstruct:
            from genforge.reconstruction import reconstruction_grid

            what, path = "input/reconstruction pairs", save_samples(
                reconstruction_grid(loaded, args.n).numpy(), out, nrow=nrow)
        elif args.class_sweep:
            what, path = "class sweeps", save_samples(
                loaded.class_sweep(args.n, seed=args.seed).numpy(), out, nrow=nrow)
        else:
            what = "samples"
            batches = (b.numpy() for b in loaded.sample_batches(
                args.n, labels=labels, seed=args.seed, batch_size=args.batch_size))
            if out.suffix.lower() == ".npy":
                out.parent.mkdir(parents=True, exist_ok=True)
                path = write_npy(out, (args.n, *shape), np.float32, batches)
            elif out.suffix.lower() == ".wav" and rate is not None:
                paths = save_wav(gather(args.n, shape, np.float32, batches), out, rate)
                where = str(paths[0]) if len(paths) == 1 else f"{paths[0]} ... {paths[-1].name}"
                print(f"wrote {args.n} {what} from {loaded.path} to {where} "
                      f"({size_text(sum(p.stat().st_size for p in paths))})")
                return 0
            else:
                path = save_samples(gather(args.n, shape, np.float32, batches), out, nrow=nrow)
    except ValueError as e:
        raise GenforgeError(str(e)) from None
    print(f"wrote {args.n} {what} from {loaded.path} to {path} ({size_text(path.stat().st_size)})")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Handle ``genforge eval``: metrics over seeds beside the perfect-generator floor (and JSON)."""
    import json

    from genforge.evaluate import evaluate
    from genforge.metrics.report import eval_table
    from genforge_runtime.sizes import check_memory

    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise GenforgeError(f"--json {args.json}: its folder does not exist")
    loaded = load_for_sampling(args, args.device)
    check_memory(f"--n {args.n}", args.n, loaded.info.shape, itemsize=4)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    options: dict[str, Any] = {"k": args.k, **({"extractor": args.extractor} if args.extractor else {})}
    meta: dict[str, Any] = {}
    results = evaluate(loaded, metrics, n=args.n, seeds=args.seeds, options=options,
                       plugins=args.plugins, floor=not args.no_floor, meta=meta)
    run = loaded.config.run
    print(f"{loaded.path}: {run.model.name} on {run.data.name}" + (", EMA weights" if loaded.ema else ""))
    print(eval_table(results, meta))
    payload = {"checkpoint": str(loaded.path), "n": args.n, "seeds": args.seeds, "k": args.k,
               "meta": meta, "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    record_evaluation(args, loaded, payload)
    return 0


def record_evaluation(args: argparse.Namespace, loaded: Any, payload: dict[str, Any]) -> None:
    """Record an evaluation of a run folder's checkpoint in ``RUN/eval.json`` and refresh its card."""
    from genforge.card import refresh
    from genforge.checkpoint import run_folder
    from genforge.eval_record import record

    run_dir = run_folder(loaded.path)
    if run_dir is None:
        return
    options = loaded.sampler_options
    evaluation = {"step": loaded.saved.meta.step, "ema": loaded.ema,
                  "sampler": options.model_dump(mode="json") if options is not None else None,
                  **{k: v for k, v in payload.items() if k != "checkpoint"}}
    try:
        path = record(run_dir, evaluation)
        refresh(run_dir, args.plugins)
        print(f"recorded in {path} (the model card shows it)")
    except OSError as e:  # a read-only folder: the results are printed all the same
        print(f"genforge: note: not recorded in {run_dir}: {e.strerror or e}", file=sys.stderr)


def data_options(plugins: Plugins, source: str, assignments: Sequence[str] | None) -> Any:
    """The options of data source ``source``, validated, from ``--set data.KEY=VALUE`` assignments."""
    from genforge.config import apply_override, validate_section

    raw: dict[str, Any] = {"data": {}}
    for assignment in assignments or []:
        if not assignment.partition("=")[0].strip().startswith("data."):
            raise GenforgeError(f"--set {assignment!r}: only data.KEY=VALUE options apply here")
        apply_override(raw, assignment)
    return validate_section(plugins.get("data_sources", source).config_cls, raw["data"], "data")


def cmd_data_pack(args: argparse.Namespace) -> int:
    """Handle ``genforge data pack``: a data source's splits written as tar shards (WebDataset layout)."""
    from genforge.data.checks import run_source
    from genforge.data.pack import pack
    from genforge_runtime.sizes import size_text

    entry = args.plugins.get("data_sources", args.source)
    data = run_source(entry, data_options(args.plugins, args.source, args.set))
    done = pack(data, Path(args.out), args.shard_size, progress=not args.no_progress)
    shards = done.shards
    print(f"packed {shards.info.num_train} training samples in {len(shards.train)} shards and "
          f"{shards.info.num_test} held-out samples in {len(shards.test)} shards to {args.out} "
          f"({size_text(done.size)})")
    if done.rounded:
        print(f"note: float pixels were rounded to 8 bits (by at most {done.rounded:.2g})")
    print(f"train on them with: genforge train --data shards --set data.path={args.out}")
    return 0


def cmd_features_train(args: argparse.Namespace) -> int:
    """Handle ``genforge features train``: fit a feature extractor to a data source, save it."""
    import time

    from genforge.metrics.extractor import save_extractor
    from genforge.metrics.extractor_training import train_for_data

    config = data_options(args.plugins, args.data, args.set)
    start = time.perf_counter()
    recipe = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None}
    extractor = train_for_data(args.data, config, args.plugins, objective=args.objective, **recipe)
    path = save_extractor(extractor, args.out)
    meta = extractor.meta
    accuracy = f", held-out accuracy {meta['test_accuracy']:.4f}" if "test_accuracy" in meta else ""
    print(f"trained a {meta['objective']} extractor on {meta['train_images']} images in "
          f"{time.perf_counter() - start:.1f} s{accuracy}; wrote {path}")
    print(f"use it with: genforge eval RUN --extractor {path}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Handle ``genforge plot``: loss and metric curves of a run to a PNG."""
    from genforge.plot import plot_run

    path = plot_run(args.run, args.out)
    print(f"wrote {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Handle ``genforge export``: hand a loaded checkpoint to the exporter named by ``--format``."""
    from genforge.config import parse_value

    entry = args.plugins.get("exporters", args.format)
    exporter = entry.load()
    loaded = load_for_sampling(args, "cpu")
    options = {"opset": args.opset, "fp16": args.fp16, "output": args.output, "part": args.part}
    for assignment in args.option or []:
        key, sep, value = assignment.partition("=")
        if not sep or not key:
            raise GenforgeError(f"--option {assignment!r}: expected KEY=VALUE")
        options[key.strip()] = parse_value(value.strip(), key.strip())
    path = exporter.export(loaded, Path(args.out), options)
    print(f"exported {loaded.path} to {path}")
    if path.suffix == ".onnx":  # exported into a run folder: its card names the file now
        from genforge.card import refresh

        refresh(path.parent, args.plugins)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Handle ``genforge publish``: a folder to push to a model hub, holding one checkpoint."""
    from genforge.publish import publish

    changes = section_changes(args.set, "card", "when publishing")
    done = publish(args.checkpoint, Path(args.out), args.plugins, onnx=args.onnx, card=changes)
    print(f"published step {done.step} of {args.checkpoint} to {args.out}: {', '.join(done.files)}")
    if done.card.license == "unknown":
        print("note: the card's license is unknown; choose one with --set card.license=ID "
              "(a Hub license id such as apache-2.0, mit or cc-by-4.0)")
    print(f"upload it with: hf upload OWNER/NAME {args.out}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """Handle ``genforge plugins``: installed plugins (``--all``: built-in ones too), names, hooks."""
    plugins: Plugins = args.plugins
    registries = plugins.registries
    shown = [r for r in plugins.records if args.all or not r.builtin or r.error]
    if args.json:
        import json

        records = [{"name": r.name, "distribution": r.dist, "version": r.version, "builtin": r.builtin,
                    "hooks": r.hooks, "error": r.error, "registered": r.registered} for r in shown]
        print(json.dumps({"plugins": records, "conflicts": plugins.conflicts}, indent=2))
        return 1 if plugins.conflicts else 0
    if not any(not r.builtin for r in plugins.records):
        print("no plugins besides the built-in ones (`genforge plugins available` lists the catalogue)")
    for record in shown:
        status = f"BROKEN: {record.error}" if record.error else ", ".join(record.hooks) or "no hooks"
        print(f"{record.name}  ({record.label})")
        print(f"  hooks: {status}")
        for kind, names in record.registered.items():
            print(f"  {kind}: {', '.join(names)}")
    hidden = len(plugins.records) - len(shown)
    if hidden:
        print(f"(and {hidden} built-in plugins of genforge {__version__}: `genforge plugins --all` lists "
              "them)")
    for message in plugins.conflicts:
        print(f"CONFLICT: {message}")
    if args.verbose:
        for kind in registries:
            for name, entry in plugins.listing(kind):
                print(f"{kind[:-1]:12s} {name:14s} {entry.summary}")
    return 1 if plugins.conflicts else 0


def cmd_plugins_available(args: argparse.Namespace) -> int:
    """Handle ``genforge plugins available``: the catalogue in ``registry.toml``, with what each provides."""
    from packaging.utils import canonicalize_name

    from genforge.catalogue import read_catalogue

    installed = {canonicalize_name(r.dist) for r in args.plugins.records if r.error is None}
    entries = read_catalogue(args.registry)
    if args.json:
        import json

        print(json.dumps([{**e.model_dump(), "distribution": e.distribution,
                           "installed": canonicalize_name(e.distribution) in installed} for e in entries],
                         indent=2))
        return 0
    for item in entries:
        mark = "installed" if canonicalize_name(item.distribution) in installed else "not installed"
        print(f"{item.name:12s} {item.distribution:20s} {mark:14s} {item.summary}")
        provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in item.provides().items())
        print(f"{'':12s} {provides}")
    return 0


def cmd_plugins_new(args: argparse.Namespace) -> int:
    """Handle ``genforge plugins new``: write a plugin project that passes the conformance kit."""
    from genforge.scaffold.project import write_project

    source = args.kind == "data-source"
    what = "data source" if source else "model"
    taken = args.plugins.registrants("data_sources" if source else "models", args.name)
    if taken:
        raise GenforgeError(f"{what} name {args.name!r} is already registered by {taken[0].plugin.label}; "
                            "choose another name (a name two installed plugins register must be given "
                            "as DIST:NAME)")
    folder = write_project(args.name, args.kind if source else args.family_kind, args.dir)
    made = "a data source" if source else f"a {args.family_kind} family"
    print(f"wrote {folder}: {made} registering {what} {args.name!r}")
    print(f"next:  cd {folder} && pip install -e '.[test]' && pytest")
    return 0


def cmd_plugins_install(args: argparse.Namespace) -> int:
    """Handle ``genforge plugins install``: check the plugin's genforge range, then pip-install it."""
    from genforge.installer import install

    return install(args.name, source=args.source, registry=args.registry, editable=args.editable,
                   dry_run=args.dry_run, find_links=args.find_links or [], no_index=args.no_index)


def cmd_plugins_uninstall(args: argparse.Namespace) -> int:
    """Handle ``genforge plugins uninstall``: pip-uninstall a plugin's distribution."""
    from genforge.installer import uninstall

    dists = {r.name: r.dist for r in args.plugins.records}
    return uninstall(args.name, registry=args.registry, plugin_dists=dists, dry_run=args.dry_run)


def build_parser(plugins: Plugins) -> argparse.ArgumentParser:
    """Build the argument parser, including subcommands that plugins add."""
    parser = argparse.ArgumentParser(prog="genforge", description="Train, sample and export "
                                     "generative models; model families come from plugins.")
    parser.add_argument("--version", action="version", version=f"genforge {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an error, also print the full chain "
                        "of causes (as GENFORGE_DEBUG=1); may be given anywhere on the line")
    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    parser.set_defaults(handler=show_help, plugins=plugins)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("train", help="train a model", description="Train a model from a TOML "
                       "config and/or flags; `--set section.key=value` overrides any option.")
    p.add_argument("config", nargs="?", help="run config (TOML)")
    p.add_argument("--model", help="model family name, or DIST:NAME to choose a distribution's "
                   "(see `genforge plugins`)")
    p.add_argument("--data", help="data source name or DIST:NAME (default: digits)")
    p.add_argument("--steps", type=count, help="total training steps")
    p.add_argument("--out", help="run folder (default: runs/MODEL-DATA)")
    p.add_argument("--device", type=device, help="auto, cpu, cuda or cuda:N")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override an option")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest "
                   "checkpoint")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--threads", type=cpus, help="a fixed number of torch CPU threads (trainer.threads; "
                   "by default tuned while training)")
    p.add_argument("--nproc", type=cpus, help="train with N processes, at most one per CPU (launches "
                   "torchrun; gloo on CPU, NCCL on GPUs)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("sample", help="sample a trained model to a PNG grid or .npy file")
    p.add_argument("checkpoint", help="run folder (latest checkpoint) or checkpoint folder")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights even if the run kept an EMA")
    p.add_argument("-n", type=count, default=64, help="number of samples (default 64); with "
                   "--class-sweep: rows, each one latent under every class")
    p.add_argument("--labels", help="conditional models: 3, 0,1,2 (one per row) or all")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="FILE.png (grid), FILE.npy (float32 N,C,H,W) or "
                   "FILE.wav (signals: one 16-bit file per sample, FILE-000.wav, ... for several)")
    p.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=count, default=1000, help="samples generated at once (default "
                   "1000; the samples do not depend on it, memory does)")
    p.add_argument("--set", action="append", metavar="sampler.KEY=VALUE",
                   help="a sample-time option for this command, e.g. sampler.steps=20 (the run folder "
                   "is not changed)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--reconstruct", action="store_true",
                      help="held-out inputs beside their reconstructions (models with reconstruct)")
    mode.add_argument("--class-sweep", action="store_true",
                      help="conditional models: each row one latent rendered under every class")
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("eval", help="evaluate a trained model with registered metrics",
                       description="Run metrics over several seeds on generated samples against the "
                       "held-out split; prints mean ± std beside the floor a perfect generator reaches "
                       "(the training split scored the same way).")
    p.add_argument("checkpoint", help="run folder (latest checkpoint) or checkpoint folder")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights even if the run kept an EMA")
    p.add_argument("--metrics", help="comma-separated metric names (default: all that apply)")
    p.add_argument("--n", type=count, default=1000, help="generated samples per seed (default 1000)")
    p.add_argument("--seeds", type=count, default=5, help="number of seeds (default 5)")
    p.add_argument("--k", type=count, default=100, help="importance samples for nll (default 100)")
    p.add_argument("--extractor", help="feature extractor file (default: the data source's own)")
    p.add_argument("--no-floor", action="store_true", help="skip the perfect-generator floor")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--set", action="append", metavar="sampler.KEY=VALUE",
                   help="a sample-time option for this command, e.g. sampler.steps=20 (the run folder "
                   "is not changed)")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("features", help="feature extractors for the evaluation metrics")
    p.set_defaults(handler=lambda a, p=p: (p.print_help(), 0)[1])
    fsub = p.add_subparsers(metavar="ACTION")
    ft = fsub.add_parser("train", help="train a feature extractor on a data source's training split",
                         description="Train a small CNN on the training split (a classifier with "
                         "labels, else a rotation predictor) and save it as safetensors.")
    ft.add_argument("--data", default="digits", help="data source name (default digits)")
    ft.add_argument("--set", action="append", metavar="data.KEY=VALUE", help="a data option")
    ft.add_argument("--out", required=True, help="output file (.safetensors)")
    ft.add_argument("--objective", choices=["auto", "classes", "rotation"], default="auto",
                    help="auto: classes when the data has labels, else rotation")
    ft.add_argument("--epochs", type=count, help="training epochs (default 40)")
    ft.add_argument("--seed", type=seed, help="random seed (default 0)")
    ft.set_defaults(handler=cmd_features_train)

    p = sub.add_parser("data", help="data sets: pack a data source into shards")
    p.set_defaults(handler=lambda a, p=p: (p.print_help(), 0)[1])
    dsub = p.add_subparsers(metavar="ACTION")
    dp = dsub.add_parser("pack", help="write a data source's splits as tar shards (--data shards reads them)",
                         description="Write the training and held-out splits of a data source as tar "
                         "shards in the WebDataset layout (DIR/train-000000.tar, ..., DIR/test-000000.tar, "
                         "DIR/info.json), which `--data shards --set data.path=DIR` streams while training.")
    dp.add_argument("source", help="data source name or DIST:NAME (see `genforge plugins -v`)")
    dp.add_argument("--out", required=True, help="the new folder of shards (must not exist, or be empty)")
    dp.add_argument("--set", action="append", metavar="data.KEY=VALUE", help="an option of the data source")
    dp.add_argument("--shard-size", type=count, default=DEFAULT_SHARD_SIZE,
                    help=f"samples per shard (default {DEFAULT_SHARD_SIZE})")
    dp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    dp.set_defaults(handler=cmd_data_pack)

    p = sub.add_parser("plot", help="draw a run's loss and metric curves to a PNG (needs matplotlib)")
    p.add_argument("run", help="run folder (reads its metrics.jsonl)")
    p.add_argument("--out", help="output PNG (default: RUN/curves.png)")
    p.set_defaults(handler=cmd_plot)

    p = sub.add_parser("export", help="export a trained model with a registered exporter",
                       description="Export a checkpoint's generator (or decoder) for deployment.")
    p.add_argument("checkpoint", help="run folder (latest checkpoint) or checkpoint folder")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights even if the run kept an EMA")
    p.add_argument("--format", default="onnx", help="exporter name (see `genforge plugins -v`)")
    p.add_argument("--out", required=True, help="output file or folder")
    p.add_argument("--opset", type=count, help="ONNX opset (default: the exporter's)")
    p.add_argument("--fp16", action="store_true", help="store weights in float16")
    p.add_argument("--output", choices=["float", "uint8"], default="float",
                   help="float [N,C,H,W] in [0,1] (default) or uint8 [N,H,W,C]")
    p.add_argument("--part", default=None, help="which network, e.g. decoder or encoder (VAE)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="an exporter-specific option, e.g. name=digits or max_batch_size=64 (triton)")
    p.add_argument("--set", action="append", metavar="sampler.KEY=VALUE",
                   help="a sample-time option recorded as the file's default, e.g. sampler.steps=50 "
                   "(the run folder is not changed)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("publish", help="write a checkpoint as a folder to push to a model hub",
                       description="Copy one checkpoint into a new folder holding what a model hub needs "
                       "and nothing else: the model card, config, weights, a sample grid and, with --onnx, "
                       "an ONNX export; no training state, lock or log. Nothing is uploaded.")
    p.add_argument("checkpoint", help="run folder (latest checkpoint) or checkpoint folder")
    p.add_argument("--out", required=True, help="the new folder (must not exist, or be empty)")
    p.add_argument("--onnx", action="store_true", help="also export the weights to MODEL.onnx in it "
                   "(needs genforge[onnx])")
    p.add_argument("--set", action="append", metavar="card.KEY=VALUE",
                   help="a [card] option of the copy, e.g. card.license=mit (the run folder is not changed)")
    p.set_defaults(handler=cmd_publish)

    p = sub.add_parser("plugins", help="list installed plugins (or the catalogue)")
    p.add_argument("--all", action="store_true", help="also list genforge's built-in plugins")
    p.add_argument("-v", "--verbose", action="store_true", help="also list every registered name "
                   "(the built-in plugins' included)")
    p.add_argument("--json", action="store_true", help="print the plugins as JSON")
    p.set_defaults(handler=cmd_plugins)
    psub = p.add_subparsers(metavar="ACTION")
    pa = psub.add_parser("available", help="list the plugins catalogued in registry.toml")
    pa.add_argument("--registry", type=Path, help="catalogue file (default: the bundled one)")
    pa.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    pa.set_defaults(handler=cmd_plugins_available)
    pn = psub.add_parser("new", help="write a new plugin project (passes the conformance kit)",
                         description="Write an installable plugin project: pyproject with the entry "
                         "point and the supported genforge range, model (or data source), config, "
                         "README and a test running genforge's conformance kit.")
    pn.add_argument("name", help="the name it registers (the project is genforge-NAME)")
    pn.add_argument("--kind", choices=("model", "data-source"), default="model",
                    help="what the project registers: a model family or a data source (default model)")
    pn.add_argument("--family-kind", choices=FAMILY_KINDS, default="generic",
                    help="starting model: generic (a Gaussian), gan or vae (default generic)")
    pn.add_argument("--dir", type=Path, help="project folder (default: ./genforge-NAME)")
    pn.set_defaults(handler=cmd_plugins_new)
    pi = psub.add_parser("install", help="pip-install a catalogued plugin into this environment",
                         description="Check the plugin's supported genforge range against this "
                         "genforge, then install it with this Python's pip.")
    pi.add_argument("name", help="catalogued plugin name (see `genforge plugins available`)")
    pi.add_argument("--from", dest="source", metavar="PATH_OR_REQUIREMENT",
                    help="install from this folder or pip requirement (needed for uncatalogued names)")
    pi.add_argument("--registry", type=Path, help="catalogue file (default: the bundled one)")
    pi.add_argument("-e", "--editable", action="store_true", help="install a local folder editable")
    pi.add_argument("--find-links", action="append", metavar="DIR_OR_URL",
                    help="also look for distributions here (pip --find-links), e.g. a local wheelhouse")
    pi.add_argument("--no-index", action="store_true", help="use no package index (only --find-links)")
    pi.add_argument("--dry-run", action="store_true", help="print the pip command instead of running it")
    pi.set_defaults(handler=cmd_plugins_install)
    pu = psub.add_parser("uninstall", help="pip-uninstall a plugin from this environment",
                         description="Remove a plugin's distribution with this Python's pip; NAME is a "
                         "catalogue name, a plugin name from `genforge plugins` or a distribution.")
    pu.add_argument("name", help="catalogued plugin, installed plugin or distribution name")
    pu.add_argument("--registry", type=Path, help="catalogue file (default: the bundled one)")
    pu.add_argument("--dry-run", action="store_true", help="print the pip command instead of running it")
    pu.set_defaults(handler=cmd_plugins_uninstall)

    plugins.hook.genforge_register_commands(cli=CommandRegistrar(sub))
    return parser


def one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                     line: str | None = None) -> str:
    """A warning as the command line prints it: ``genforge: warning: MESSAGE`` on one line."""
    return f"genforge: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``genforge`` command: one-line errors (the chain under ``--debug``) and warnings."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or debug_enabled()
    formatter, warnings.formatwarning = warnings.formatwarning, one_line_warning
    try:
        plugins = default_plugins()
        args = build_parser(plugins).parse_args([a for a in argv if a != "--debug"])
        args.argv = argv
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("genforge: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        return report(e, "genforge", debug)
    finally:
        warnings.formatwarning = formatter


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
