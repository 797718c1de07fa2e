"""Built-in trainer features, delivered as a default plugin through the trainer hooks.

- ``metrics.jsonl``: one JSON line of metrics every ``trainer.log_every`` steps;
- a progress bar with live losses (``trainer.progress``);
- a sample grid under ``samples/`` every ``trainer.sample_every`` steps and at the end.

Heavy modules are imported inside the hooks: this module is loaded to list plugins.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from genforge.hookspecs import hookimpl


def grid_labels(num_classes: int, per_class: int = 10) -> list[int] | None:
    """Labels for a class grid: each class ``per_class`` times, one row per class."""
    if num_classes <= 0:
        return None
    return [c for c in range(num_classes) for _ in range(per_class)]


def write_grid(run: Any, name: str) -> None:
    """Sample the run's model with a fixed seed and write ``samples/NAME.png``."""
    import torch

    from genforge.images import save_samples

    labels = grid_labels(run.data_info.num_classes) if run.model.conditional else None
    n = len(labels) if labels else run.config.run.trainer.grid_samples
    generator = torch.Generator().manual_seed(run.config.run.seed)
    with run.ema.applied() if run.ema is not None else contextlib.nullcontext():
        samples = run.model.sample(n, labels=labels, generator=generator)
    nrow = 10 if labels else None
    save_samples(samples.float().cpu().numpy(), run.out / "samples" / f"{name}.png", nrow)


def _trim_log(path: Any, step: int) -> None:
    """Drop lines past ``step`` (written after the checkpoint a resumed run restarts from)."""
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in keep))


@hookimpl
def genforge_on_train_start(run: Any) -> None:
    """Open the metrics log and the progress bar."""
    from tqdm.auto import tqdm

    tcfg = run.config.run.trainer
    main = run.process.main
    log = run.out / "metrics.jsonl"
    if main:
        _trim_log(log, run.step)
    run.extras["metrics_log"] = log.open("a") if main else None
    run.extras["last_log"] = (time.perf_counter(), run.step)
    run.extras["progress"] = tqdm(total=tcfg.steps, initial=run.step, disable=not (tcfg.progress and main),
                                  desc=run.config.run.model.name, unit="step", dynamic_ncols=True)


@hookimpl
def genforge_on_step_end(run: Any, step: int, metrics: dict[str, Any]) -> None:
    """Log metrics, move the progress bar, write a grid when due."""
    tcfg = run.config.run.trainer
    bar = run.extras["progress"]
    bar.update(1)
    if step % tcfg.log_every == 0 or step == tcfg.steps:
        values = {k: float(v) for k, v in metrics.items()}
        if run.process.distributed:  # every process takes part; only the main one writes
            from genforge.distributed import mean_over_processes

            values = mean_over_processes(values, run.device)
        values = {k: round(v, 6) for k, v in values.items()}
        now = time.perf_counter()
        t0, s0 = run.extras["last_log"]
        run.extras["last_log"] = (now, step)
        rate = (step - s0) * tcfg.batch_size / max(now - t0, 1e-9)
        line = {"step": step, **values, "samples_per_s": round(rate, 1),
                "time_s": round(now - run.started, 3)}
        log = run.extras["metrics_log"]
        if log is not None:
            log.write(json.dumps(line) + "\n")
            log.flush()
        bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
    if tcfg.sample_every and step % tcfg.sample_every == 0 and step != tcfg.steps and run.process.main:
        write_grid(run, f"step-{step:06d}")


@hookimpl
def genforge_on_train_end(run: Any, metrics: dict[str, float]) -> None:
    """Write the final grid and close the log and the bar."""
    if run.process.main:
        write_grid(run, f"step-{run.step:06d}")
        run.extras["metrics_log"].close()
    run.extras["progress"].close()
