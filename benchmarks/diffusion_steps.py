"""Sample quality against sampling steps, per sampler, for trained diffusion / flow-matching runs.

For each run folder and each sampler its process offers (ddpm, ddim, dpmpp_2m for
``ddpm``/``cddpm``; euler, heun for ``fm``/``cfm``), scores ``genforge eval``'s FD (and
class accuracy for conditional models) at 5, 10, 20, 50 and 100 steps, with the run's
other sample-time options (guidance), and the samples/s of ``sample`` at that setting
(CPU time of this process: with one torch thread, an idle core's wall time).
The run's default step count should be the smallest within 5% of the best FD. Writes a
section per model into ``docs/results.md`` (between ``diffusion-steps-MODEL`` markers,
which ``benchmarks/quality.py`` keeps when it rewrites the file) and its figure to
``docs/images/diffusion-steps-MODEL.png`` (needs matplotlib).

    OMP_NUM_THREADS=1 python benchmarks/diffusion_steps.py RUN [RUN ...] [--seeds 5] [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from quality import ROOT, replace_block

import genforge
from genforge.config import build_raw, resolve
from genforge.evaluate import evaluate
from genforge.metrics.report import cell
from genforge.plugins import default_plugins
from genforge_runtime.samplers import SAMPLERS

STEPS = (5, 10, 20, 50, 100)


def sweep(run: Path, steps: tuple[int, ...], n: int, seeds: int, rate_n: int) -> dict[str, Any]:
    """FD (and class accuracy) plus samples/s per sampler and step count for one run."""
    loaded = genforge.load(run, device="cpu")
    base = loaded.model.sampler_options
    metrics = ["fd", "classes"] if loaded.model.conditional else ["fd"]
    rows = []
    for sampler in SAMPLERS[loaded.model.sampling_process().kind]:
        for k in steps:
            options = base.model_copy(update={"sampler": sampler, "steps": k})
            loaded.model.sampler_options = options
            start = time.process_time()
            loaded.model.sample(rate_n, seed=0)
            rate = rate_n / (time.process_time() - start)
            results = evaluate(loaded, metrics, n=n, seeds=seeds)
            row = {"sampler": sampler, "steps": k, "samples_per_s": rate,
                   **{key: results[key] for key in results}}
            rows.append(row)
            print(f"{run.name} {sampler} {k}: fd {cell(results['fd'])} {rate:.0f} samples/s", flush=True)
    loaded.model.sampler_options = base
    tcfg = loaded.config.run.trainer
    trained = f"{tcfg.steps:,} steps of batch {tcfg.batch_size}"
    trained += f", EMA {tcfg.ema_decay}" if tcfg.ema_decay else ""
    return {"run": str(run), "model": loaded.config.run.model.name, "defaults": base.model_dump(),
            "trained": trained, "n": n, "seeds": seeds, "rate_n": rate_n, "rows": rows}


def smallest_within(rows: list[dict[str, Any]], share: float = 0.05) -> dict[str, Any]:
    """The row with the fewest network calls whose FD is within ``share`` of the best FD."""
    best = min(r["fd"]["mean"] for r in rows)
    near = [r for r in rows if r["fd"]["mean"] <= best * (1.0 + share)]
    return min(near, key=lambda r: r["steps"] * (2 if r["sampler"] == "heun" else 1))


def table(report: dict[str, Any]) -> list[str]:
    """Markdown: one row per step count, FD and samples/s per sampler."""
    samplers = list(dict.fromkeys(r["sampler"] for r in report["rows"]))
    by = {(r["sampler"], r["steps"]): r for r in report["rows"]}
    accuracy = any("class_accuracy" in r for r in report["rows"])
    head = ["steps", *[f"`{s}` FD" for s in samplers],
            *([f"`{s}` class accuracy" for s in samplers] if accuracy else []),
            *[f"`{s}` samples/s" for s in samplers]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in sorted({r["steps"] for r in report["rows"]}):
        fds = [cell(by[(s, k)]["fd"]) if (s, k) in by else "-" for s in samplers]
        accs = [cell(by[(s, k)].get("class_accuracy")) if (s, k) in by else "-" for s in samplers]
        rates = [f"{by[(s, k)]['samples_per_s']:.0f}" if (s, k) in by else "-" for s in samplers]
        lines.append("| " + " | ".join([str(k), *fds, *(accs if accuracy else []), *rates]) + " |")
    pick = smallest_within(report["rows"])
    lines += ["", f"Smallest setting within 5% of the best FD: `{pick['sampler']}`, {pick['steps']} steps "
                  f"(FD {cell(pick['fd'])})."]
    return lines


def default_setting(model: str) -> str:
    """The sampler and step count ``model`` samples with by default (its family's suggestion)."""
    options = resolve(build_raw({"model": {"name": model}}), default_plugins()).sampler
    return f"`{getattr(options, 'sampler', '?')}`, {getattr(options, 'steps', '?')} steps"


def section(report: dict[str, Any], command: str, image: str) -> list[str]:
    """The markdown section of one run: how it was measured, the table, the figure."""
    model, defaults = report["model"], report["defaults"]
    guided = defaults.get("guidance") not in (None, 0.0, 1.0)
    seeds = "one seed" if report["seeds"] == 1 else f"mean ± std over {report['seeds']} seeds"
    heun = any(r["sampler"] == "heun" for r in report["rows"])
    calls = "; `heun` calls the network twice per step but the last" if heun else ""
    calls += ", guidance twice again" if guided else ""
    return [f"## Sampling steps against quality: `{model}`", "",
            f"`{model}` on digits trained with its default config ({report['trained']}), FD of "
            f"{report['n']} samples ({seeds}) per sampler and step count"
            + (f" at guidance {defaults['guidance']}" if guided else "")
            + f", and samples/s drawing {report['rate_n']} at that setting (CPU time of one torch "
              f"thread{calls}). Measured by:",
            "", "```", command, "```", "",
            *table(report), f"The model's default today: {default_setting(model)}.", "",
            f"![FD against sampling steps, {model} on digits]({image})"]


def plot(report: dict[str, Any], path: Path) -> None:
    """FD against steps of one run, one line per sampler (log-scaled steps)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for sampler in dict.fromkeys(r["sampler"] for r in report["rows"]):
        rows = [r for r in report["rows"] if r["sampler"] == sampler]
        ax.errorbar([r["steps"] for r in rows], [r["fd"]["mean"] for r in rows],
                    yerr=[r["fd"]["std"] for r in rows], marker="o", capsize=3, label=sampler)
    ax.set_xscale("log")
    ax.set_xlabel("sampling steps")
    ax.set_ylabel("FD (digits, lower is better)")
    ax.set_title(report["model"])
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Sweep each run; print the tables and write each run's section and figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="*", help="trained run folders")
    parser.add_argument("--steps", default=",".join(map(str, STEPS)), help="comma-separated step counts")
    parser.add_argument("--n", type=int, default=1000, help="samples per seed")
    parser.add_argument("--seeds", type=int, default=5, help="seeds")
    parser.add_argument("--rate-n", type=int, default=250, help="samples drawn (one batch) to time samples/s")
    parser.add_argument("--results", type=Path, default=ROOT / "docs" / "results.md",
                        help="markdown file that gets (or keeps updated) one marked section per model")
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images", help="figures")
    parser.add_argument("--json", type=Path, help="also write the measured rows here")
    parser.add_argument("--render", type=Path, help="only rewrite the sections from a JSON this script wrote")
    args = parser.parse_args(argv)
    steps = tuple(int(s) for s in args.steps.split(","))
    given = [a for a in (argv if argv is not None else sys.argv[1:]) if not Path(a).is_dir()]
    for flag in ("--results", "--images", "--json", "--render"):  # where files go: not what was measured
        while flag in given and given.index(flag) + 1 < len(given):
            del given[given.index(flag) : given.index(flag) + 2]
    if args.render:
        reports = json.loads(args.render.read_text())
    else:
        reports = [sweep(run, steps, args.n, args.seeds, args.rate_n) for run in args.runs]
        command = " ".join(["OMP_NUM_THREADS=1 python benchmarks/diffusion_steps.py RUN", *given])
        for report in reports:
            report["command"] = command
    args.images.mkdir(parents=True, exist_ok=True)
    for report in reports:
        model = report["model"]
        command = f"genforge train --model {model} --out RUN\n{report['command']}"
        image = args.images / f"diffusion-steps-{model}.png"
        lines = section(report, command, os.path.relpath(image, args.results.parent))
        print("\n".join(lines))
        replace_block(args.results, f"diffusion-steps-{model}", lines, append=True)
        plot(report, image)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n")
    return reports


if __name__ == "__main__":
    main()
