"""Sample quality of every installed family with its default config, beside the floor.

Trains each installed model family with its default config on digits, and ``gan`` and
``fm`` on the three toy2d sets, then scores each with every metric that applies (``genforge
eval``'s default set) on a fixed number of generated samples per seed, against the
held-out split, mean ± std over seeds. The floor column is what a perfect generator
reaches: training images scored the same way. Writes markdown tables (with the exact
command) to ``docs/results.md``, a sample grid per model under ``docs/images/``, and
the digits table into README.md between the ``quality-table`` markers. Marked blocks
that other scripts wrote into ``docs/results.md`` (``<!-- NAME:start -->`` ...
``<!-- NAME:end -->``, e.g. ``benchmarks/diffusion_steps.py``'s) are kept.

    OMP_NUM_THREADS=1 python benchmarks/quality.py [--seeds 5] [--n 1000] [--k 500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

import genforge
from genforge.config import build_raw, resolve
from genforge.evaluate import evaluate
from genforge.images import save_samples
from genforge.metrics.report import BETTER, cell, fmt, shape_text
from genforge.plugins import default_plugins

ROOT = Path(__file__).resolve().parents[1]
TOY_SETS = ("8gaussians", "25gaussians", "swissroll")
#: The models trained on each toy2d set (those installed and asked for).
TOY_MODELS = ("gan", "fm")
ROWS = ["fd", "kid", "precision", "recall", "density", "coverage", "class_accuracy", "classes_hit",
        "memorisation_ratio", "modes_captured", "high_quality", "nll_elbo", "nll_iwae"]


def load_average() -> float:
    """The 1-minute load average (other processes slow the timings down), or -1."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def train_and_score(name: str, data: dict[str, Any] | None, out: Path, args: argparse.Namespace,
                    images: Path, label: str) -> dict[str, Any]:
    """Train ``name`` with its defaults (on ``data`` if given), evaluate it, save a sample grid."""
    config: dict[str, Any] = {"model": {"name": name}, "out": str(out / label),
                              "trainer": {"progress": False}}
    if data is not None:
        config["data"] = data
    load_before = load_average()
    start, cpu_start = time.perf_counter(), time.process_time()
    run = genforge.train(config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    loaded = genforge.load(run.out, device="cpu")
    meta: dict[str, Any] = {}
    start = time.perf_counter()
    results = evaluate(loaded, None, n=args.n, seeds=args.seeds, options={"k": args.k}, floor=True,
                       meta=meta)
    eval_wall = time.perf_counter() - start
    tcfg = run.config.run.trainer
    if loaded.model.conditional:
        k = loaded.info.num_classes
        grid, nrow = loaded.sample(10 * k, labels=[c for c in range(k) for _ in range(10)], seed=0), 10
    else:
        grid, nrow = loaded.sample(1000 if loaded.info.kind == "vector" else 100, seed=0), 10
    image = save_samples(grid.numpy(), images / f"quality-{label}.png", nrow=nrow)
    entry = {"model": name, "label": label, "data": run.config.to_dict()["data"],
             "train_seconds": wall, "train_cpu_seconds": cpu, "eval_seconds": eval_wall,
             "load_average": [load_before, load_average()],
             "steps": tcfg.steps, "batch_size": tcfg.batch_size, "ema_decay": getattr(tcfg, "ema_decay", 0.0),
             "trained_shape": list(loaded.info.shape), "image": str(image.relative_to(ROOT)),
             "meta": meta, "results": results}
    entry["suite_seconds"] = suite_seconds(meta)
    nll = meta["seconds_by_metric"].get("nll")
    print(f"{label}: trained {tcfg.steps} steps x {tcfg.batch_size} at {shape_text(loaded.info.shape)} in "
          f"{wall:.1f} s ({cpu:.1f} s CPU, load {load_before:.1f}); sample metrics "
          f"{entry['suite_seconds']:.2f} s per seed "
          f"for n={args.n} (sampling excluded)" + (f", nll {nll:.2f} s" if nll is not None else ""),
          flush=True)
    for key, s in results.items():
        print(f"  {key:20s} {cell(s):>22s}   floor {cell(s.get('floor')):>22s}", flush=True)
    return entry


def suite_seconds(meta: dict[str, Any]) -> float:
    """Seconds per seed of the sample-based metrics (all but ``nll``), the model's sampling excluded."""
    return sum(v for k, v in meta["seconds_by_metric"].items() if k != "nll")


def training_time(entry: dict[str, Any]) -> str:
    """Training CPU time, and the wall-clock in brackets when it differs by more than 10%."""
    wall, cpu = entry["train_seconds"], entry.get("train_cpu_seconds")
    if cpu is None:
        return f"{wall:.0f} s"
    return f"{cpu:.0f} s" + (f" ({wall:.0f} s wall)" if abs(wall - cpu) > 0.1 * cpu else "")


def floor_cell(entries: list[dict[str, Any]], key: str) -> str:
    """The floor of ``key`` from the first entry that has one."""
    for e in entries:
        s = e["results"].get(key, {}).get("floor")
        if s:
            return cell(s)
    return "-"


def table(entries: list[dict[str, Any]], floor_label: str) -> list[str]:
    """A markdown table: one row per value, the floor, then one column per model."""
    keys = [k for k in ROWS if any(k in e["results"] for e in entries)]
    keys += [k for e in entries for k in e["results"] if k not in keys and k not in ROWS]
    head = ["value", "better", floor_label, *[f"`{e['label']}`" for e in entries]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in keys:
        row = [key, BETTER.get(key, ""), floor_cell(entries, key)]
        row += [cell(e["results"].get(key)) for e in entries]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("| training time | | | " + " | ".join(training_time(e) for e in entries) + " |")
    lines.append("| trained at | | | " + " | ".join(shape_text(e["trained_shape"]) for e in entries) + " |")
    lines.append("| steps x batch | | | " + " | ".join(f"{e['steps']} x {e['batch_size']}"
                                                     + (f", EMA {e['ema_decay']}" if e["ema_decay"] else "")
                                                     for e in entries) + " |")
    return lines


#: The project's quality targets: (run label, value, comparison, bound).
TARGETS = [("gan", "fd", "<=", 6), ("gan", "coverage", ">=", 0.95), ("gan", "recall", ">=", 0.85),
           ("cgan", "fd", "<=", 6), ("cgan", "coverage", ">=", 0.95), ("cgan", "recall", ">=", 0.85),
           ("cgan", "class_accuracy", ">=", 0.98), ("cvae", "class_accuracy", ">=", 0.98),
           ("vae", "nll_iwae", "<=", 17.5), ("gan-8gaussians", "modes_captured", ">=", 8),
           ("gan-8gaussians", "high_quality", ">=", 0.8), ("gan-25gaussians", "modes_captured", ">=", 23),
           ("cfm", "fd", "<=", 3.5), ("cfm", "class_accuracy", ">=", 0.99),
           ("fm", "fd", "<=", 4.5), ("fm", "recall", ">=", 0.9),
           ("fm-25gaussians", "modes_captured", ">=", 25), ("fm-25gaussians", "high_quality", ">=", 0.95)]


def target_lines(entries: list[dict[str, Any]]) -> list[str]:
    """A checklist of the targets: the measured mean beside each bound, met or missed."""
    by_label = {e["label"]: e for e in entries}
    lines = []
    for label, key, op, bound in TARGETS:
        e = by_label.get(label)
        if e is None or key not in e["results"]:
            continue
        mean = e["results"][key]["mean"]
        ok = mean <= bound if op == "<=" else mean >= bound
        lines.append(f"- `{label}` {key} {fmt(mean)} (target {op} {bound}): {'met' if ok else '**missed**'}")
    for e in entries:
        seconds = e.get("train_cpu_seconds", e["train_seconds"])
        ok = seconds < 300
        lines.append(f"- `{e['label']}` training time {training_time(e)} (target < 300 s): "
                     f"{'met' if ok else '**missed**'}")
    return lines


def toy_table(toys: list[dict[str, Any]]) -> list[str]:
    """One markdown table for the toy2d runs: a floor and a model column per data set."""
    keys = [k for k in ROWS if any(k in e["results"] for e in toys)]
    head = ["value", "better"]
    for e in toys:
        head += [f"{e['data']['dataset']} floor", f"`{e['model']}` {e['data']['dataset']}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in keys:
        row = [key, BETTER.get(key, "")]
        for e in toys:
            s = e["results"].get(key)
            row += [cell(s.get("floor") if s else None), cell(s)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("| training time | | " + " | ".join(f" | {training_time(e)}" for e in toys) + " |")
    lines.append("| steps x batch | | " + " | ".join(
        f" | {e['steps']} x {e['batch_size']}" + (f", EMA {e['ema_decay']}" if e["ema_decay"] else "")
        for e in toys) + " |")
    return lines


def write_markdown(digits: list[dict[str, Any]], toys: list[dict[str, Any]], args: argparse.Namespace,
                   command: str, seconds: list[float]) -> str:
    """The body of docs/results.md; ``command`` is the run's, entries may carry their own."""
    commands = list(dict.fromkeys(e.get("command", command).strip() for e in digits + toys))
    first = (digits or toys)[0]["meta"]
    scored = shape_text(first.get("scored_shape")) if digits else ""
    lines = [
        "# Sample quality of the default configs",
        "",
        "Generated by `benchmarks/quality.py`; reproduce with:",
        "",
        "```", *commands, "```", "",
        *([] if len(commands) == 1 else [
            "; ".join(f"`{c}` measured " + ", ".join(f"`{e['label']}`" for e in digits + toys
                                                     if e.get("command", command).strip() == c)
                      for c in commands) + ".", ""]),
        f"Machine: {os.cpu_count()} CPU cores ({platform.machine()}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread(s); training times are the CPU time of the "
        "training (one thread: an idle core's wall-clock), with the wall-clock on this shared machine in "
        "brackets where it differs by more than 10% (load average in `docs/results.json`; older entries "
        "have only the wall-clock).",
        "",
        f"Every value is the mean ± std over {args.seeds} seeds of n = {args.n} generated samples "
        "scored against the held-out split. The **floor** is what a perfect generator reaches: "
        f"{first.get('floor_n')} training images scored the same way (train split vs held-out split), "
        "so it shows how far each model is from the limit. The sample-based metrics took "
        f"{min(seconds):.2f}-{max(seconds):.2f} s per seed for n = {args.n} on CPU, all of them together "
        "(features, k-NN, kernels, sharing cached features; the model's own sampling and `nll` not "
        "counted).",
        "",
    ]
    lines += ["## Targets", "", "Means over the seeds above, against the project's quality targets:", "",
              *target_lines(digits + toys), ""]
    if digits:
        lines += [
            "## Digits",
            "",
            f"Images are scored at the native {scored}: models trained at 16x16 are area-averaged "
            f"back down first. Features: {first.get('extractor')} (the 128-unit penultimate layer of a "
            f"small CNN trained on the digits train split). `nll_*` (nats per image, IWAE with k = {args.k}) "
            "is for models with a likelihood; it has no floor.",
            "",
            *table(digits, "floor (train vs held-out)"),
            "",
            " ".join(f"![{e['label']}](images/{Path(e['image']).name})" for e in digits),
            "",
        ]
    if toys:
        lines += [
            "## toy2d",
            "",
            "Models on the toy2d sets (features: the raw 2-D coordinates). A sample is high quality "
            "within 3 standard deviations of its nearest mode; a mode is captured with at least 0.8% "
            "of the samples as high-quality samples near it.",
            "",
        ]
        lines += [*toy_table(toys), "",
                  " ".join(f"![{e['label']}](images/{Path(e['image']).name})" for e in toys), "",
                  "`memorisation_ratio` below 1 here means samples sit closer to the mode centres than "
                  "real points do (the 20,000 training points fill each mode densely), not copying.", ""]
    return "\n".join(lines)


#: A block another script owns inside a generated file: ``<!-- NAME:start -->`` ... ``<!-- NAME:end -->``.
BLOCK = re.compile(r"<!-- ([\w-]+):start -->\n.*?<!-- \1:end -->\n?", re.S)


def replace_block(path: Path, name: str, lines: list[str], append: bool = False) -> None:
    """Replace the lines between the ``name`` markers of ``path``; with ``append``, add them if missing."""
    text = path.read_text() if path.is_file() else ""
    pattern = re.compile(rf"(<!-- {re.escape(name)}:start -->\n).*?(<!-- {re.escape(name)}:end -->)", re.S)
    block = "\n".join(lines) + "\n"
    if pattern.search(text):
        path.write_text(pattern.sub(lambda m: m.group(1) + block + m.group(2), text))
    elif append:
        path.write_text(text.rstrip("\n") + f"\n\n<!-- {name}:start -->\n{block}<!-- {name}:end -->\n")


def kept_blocks(path: Path) -> str:
    """The marked blocks of ``path`` (written by other scripts), which a rewrite of ``path`` keeps."""
    text = path.read_text() if path.is_file() else ""
    return "".join("\n" + m.group(0).rstrip("\n") + "\n" for m in BLOCK.finditer(text))


def update_readme(digits_lines: list[str]) -> None:
    """Replace the README block between the quality-table markers (if the markers are there)."""
    replace_block(ROOT / "README.md", "quality-table", digits_lines)


def render(args: argparse.Namespace) -> dict[str, Any]:
    """Rewrite the markdown (and the README block) from a results JSON this script wrote."""
    report = json.loads(args.render.read_text())
    digits, toys = report["digits"], report["toy2d"]
    first = (digits or toys)[0]["meta"]
    args.seeds, args.n = first["seeds"], first["n"]
    args.k = report.get("k", args.k)
    text = write_markdown(digits, toys, args, report["command"].strip(),
                          [e["suite_seconds"] for e in digits + toys])
    args.out.write_text(text + kept_blocks(args.out))
    if digits and not args.no_readme:
        update_readme(table(digits, "floor (train vs held-out)"))
    print(f"rendered {args.out} from {args.render}")
    return report


def merge_entries(old: dict[str, Any], digits: list[dict[str, Any]],
                  toys: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The old report's entries with those just measured replacing theirs (same label)."""
    merged = []
    for previous, fresh in ((old["digits"], digits), (old["toy2d"], toys)):
        by_label = {e["label"]: {"command": old["command"], **e} for e in previous}
        by_label.update({e["label"]: e for e in fresh})
        merged.append(sorted(by_label.values(), key=lambda e: e["label"]))
    return merged[0], merged[1]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write the results files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="evaluation seeds (default 5)")
    parser.add_argument("--n", type=int, default=1000, help="generated samples per seed (default 1000)")
    parser.add_argument("--k", type=int, default=500, help="importance samples for nll (default 500)")
    parser.add_argument("--models", help="comma-separated models (default: every installed one)")
    parser.add_argument("--no-toy", action="store_true", help="skip the toy2d sets")
    parser.add_argument("--no-digits", action="store_true", help="train the models on the toy2d sets only")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md", help="markdown file")
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images", help="sample grids")
    parser.add_argument("--runs", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    parser.add_argument("--render", type=Path, help="only re-render the markdown from a results JSON")
    parser.add_argument("--update", action="store_true",
                        help="keep the other models' entries of the existing results JSON")
    args = parser.parse_args(argv)
    if args.render:
        return render(args)
    given = list(argv if argv is not None else sys.argv[1:])
    given = [g for g in given if g != "--update"]
    for flag in ("--runs", "--out", "--images"):  # where files go is not part of what was measured
        while flag in given and given.index(flag) + 1 < len(given):
            i = given.index(flag)
            del given[i : i + 2]
    command = " ".join(["OMP_NUM_THREADS=1 python benchmarks/quality.py", *given])
    names = args.models.split(",") if args.models else default_plugins().names("models")
    digits: list[dict[str, Any]] = []
    toys: list[dict[str, Any]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.runs or Path(tmp)
        for name in [] if args.no_digits else names:
            suggested = resolve(build_raw({"model": {"name": name}}), default_plugins()).run.data.name
            data = None if suggested == "digits" else {"name": "digits"}
            try:
                digits.append(train_and_score(name, data, out, args, args.images, name))
            except Exception as e:  # one broken family must not hide the others' figures
                failures.append(f"{name}: {type(e).__name__}: {e}")
                print(f"{name}: FAILED: {failures[-1]}", flush=True)
        for name in [m for m in TOY_MODELS if m in names and not args.no_toy]:
            for dataset in TOY_SETS:
                toys.append(train_and_score(name, {"name": "toy2d", "dataset": dataset}, out, args,
                                            args.images, f"{name}-{dataset}"))
    for e in digits + toys:
        e["command"] = command
    if args.update and args.out.with_suffix(".json").is_file():
        digits, toys = merge_entries(json.loads(args.out.with_suffix(".json").read_text()), digits, toys)
    seconds = [e["suite_seconds"] for e in digits + toys]
    text = write_markdown(digits, toys, args, command.strip(), seconds)
    if failures:
        text += "\n## Families that failed\n\n" + "\n".join(f"- {f}" for f in failures) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + kept_blocks(args.out))
    report = {"command": command, "k": args.k, "digits": digits, "toy2d": toys, "failures": failures}
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    if digits and not args.no_readme:
        update_readme(table(digits, "floor (train vs held-out)"))
    print(f"wrote {args.out}, {args.out.with_suffix('.json')} and {len(digits) + len(toys)} grids "
          f"under {args.images}")
    return report


if __name__ == "__main__":
    main()
