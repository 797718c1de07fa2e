"""Sample quality against sampling steps, per sampler, for trained diffusion / flow-matching runs.

For each run folder and each sampler its process offers (ddpm, ddim, dpmpp_2m for
``ddpm``/``cddpm``; euler, heun for ``fm``/``cfm``), scores ``genforge eval``'s FD (and
class accuracy for conditional models) at 5, 10, 20, 50 and 100 steps, with the run's
other sample-time options (guidance), and the samples/s of ``sample`` at that setting
(CPU time of this process: with one torch thread, an idle core's wall time).
The run's default step count should be the smallest within 5% of the best FD. Writes a
markdown table per run (to stdout and ``--out``) and, with matplotlib, a figure.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_steps.py RUN [RUN ...] [--seeds 5] [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import genforge
from genforge.evaluate import evaluate
from genforge.metrics.report import cell
from genforge_runtime.samplers import SAMPLERS

STEPS = (5, 10, 20, 50, 100)


def sweep(run: Path, steps: tuple[int, ...], n: int, seeds: int) -> dict[str, Any]:
    """FD (and class accuracy) plus samples/s per sampler and step count for one run."""
    loaded = genforge.load(run, device="cpu")
    base = loaded.model.sampler_options
    metrics = ["fd", "class_accuracy"] if loaded.model.conditional else ["fd"]
    rows = []
    for sampler in SAMPLERS[loaded.model.sampling_process().kind]:
        for k in steps:
            options = base.model_copy(update={"sampler": sampler, "steps": k})
            loaded.model.sampler_options = options
            start = time.process_time()
            loaded.model.sample(n, seed=0)
            rate = n / (time.process_time() - start)
            results = evaluate(loaded, metrics, n=n, seeds=seeds)
            row = {"sampler": sampler, "steps": k, "samples_per_s": rate,
                   **{key: results[key] for key in results}}
            rows.append(row)
            print(f"{run.name} {sampler} {k}: fd {cell(results['fd'])} {rate:.0f} samples/s", flush=True)
    loaded.model.sampler_options = base
    return {"run": str(run), "model": loaded.config.run.model.name, "defaults": base.model_dump(),
            "n": n, "seeds": seeds, "rows": rows}


def smallest_within(rows: list[dict[str, Any]], share: float = 0.05) -> dict[str, Any]:
    """The row with the fewest network calls whose FD is within ``share`` of the best FD."""
    best = min(r["fd"]["mean"] for r in rows)
    near = [r for r in rows if r["fd"]["mean"] <= best * (1.0 + share)]
    return min(near, key=lambda r: r["steps"] * (2 if r["sampler"] == "heun" else 1))


def table(report: dict[str, Any]) -> list[str]:
    """Markdown: one row per step count, FD and samples/s per sampler."""
    samplers = list(dict.fromkeys(r["sampler"] for r in report["rows"]))
    by = {(r["sampler"], r["steps"]): r for r in report["rows"]}
    head = ["steps", *[f"`{s}` FD" for s in samplers], *[f"`{s}` samples/s" for s in samplers]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in sorted({r["steps"] for r in report["rows"]}):
        fds = [cell(by[(s, k)]["fd"]) if (s, k) in by else "-" for s in samplers]
        rates = [f"{by[(s, k)]['samples_per_s']:.0f}" if (s, k) in by else "-" for s in samplers]
        lines.append("| " + " | ".join([str(k), *fds, *rates]) + " |")
    pick = smallest_within(report["rows"])
    lines += ["", f"Smallest setting within 5% of the best FD: `{pick['sampler']}`, {pick['steps']} steps "
                  f"(FD {cell(pick['fd'])})."]
    return lines


def plot(reports: list[dict[str, Any]], path: Path) -> None:
    """FD against steps, one line per run and sampler (log-scaled steps)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for report in reports:
        for sampler in dict.fromkeys(r["sampler"] for r in report["rows"]):
            rows = [r for r in report["rows"] if r["sampler"] == sampler]
            ax.errorbar([r["steps"] for r in rows], [r["fd"]["mean"] for r in rows],
                        yerr=[r["fd"]["std"] for r in rows], marker="o", capsize=3,
                        label=f"{report['model']} {sampler}")
    ax.set_xscale("log")
    ax.set_xlabel("sampling steps")
    ax.set_ylabel("FD (digits, lower is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Sweep each run, print and write the tables, the JSON and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="trained run folders")
    parser.add_argument("--steps", default=",".join(map(str, STEPS)), help="comma-separated step counts")
    parser.add_argument("--n", type=int, default=1000, help="samples per seed")
    parser.add_argument("--seeds", type=int, default=5, help="seeds")
    parser.add_argument("--out", type=Path, help="markdown file for the tables (a .json and .png beside it)")
    args = parser.parse_args(argv)
    steps = tuple(int(s) for s in args.steps.split(","))
    reports = [sweep(run, steps, args.n, args.seeds) for run in args.runs]
    text = []
    for report in reports:
        text += [f"### `{report['model']}`", "", *table(report), ""]
    print("\n".join(text))
    if args.out:
        args.out.write_text("\n".join(text))
        args.out.with_suffix(".json").write_text(json.dumps(reports, indent=2) + "\n")
        plot(reports, args.out.with_suffix(".png"))
    return reports


if __name__ == "__main__":
    main()
