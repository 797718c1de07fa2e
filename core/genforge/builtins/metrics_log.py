"""Built-in plugin writing ``metrics.jsonl``: one JSON line every ``trainer.log_every`` steps.

Each line holds the step, the losses (averaged over processes under ``torchrun``),
samples per second since the previous line and seconds since the start. A resumed
run first drops the lines written after the checkpoint it restarts from (``genforge.runlog``
owns the format: strict JSON, a torn last line skipped).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from genforge import runlog
from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    import torch

    from genforge.trainer import TrainingRun

#: ``run.extras`` key of ``(step, values)``: the losses of the newest line, for display.
LOGGED = "logged_metrics"


@hookimpl
def genforge_on_train_start(run: TrainingRun) -> None:
    """Open the metrics log (main process only)."""
    log = run.out / runlog.LOG_FILE
    if run.process.main:
        runlog.truncate_after(log, run.step)
    run.extras["metrics_log"] = log.open("a") if run.process.main else None
    run.extras["last_log"] = (time.perf_counter(), run.step)


@hookimpl
def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | torch.Tensor]) -> None:
    """Write a line every ``log_every`` steps and at the last step."""
    tcfg = run.config.run.trainer
    if step % tcfg.log_every and step != tcfg.steps:
        return
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
        log.write(runlog.encode(line))
        log.flush()
    run.extras[LOGGED] = (step, values)


@hookimpl
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]) -> None:
    """Close the log."""
    if run.extras["metrics_log"] is not None:
        run.extras["metrics_log"].close()
