"""Built-in plugin for training curves: evaluation every ``trainer.eval_every`` steps.

Through the trainer hooks (like the other built-in plugins), not inside the loop: every
``eval_every`` steps and at the last step, the model (its EMA weights when the run
keeps an average) is scored with ``trainer.eval_metrics`` (empty: every metric that
applies) on ``trainer.eval_n`` samples of seed 0, and one line
``{"step": S, "kind": "eval", "n": N, <values>, "eval_s": T}`` joins ``metrics.jsonl``.
At the start a ``"kind": "floor"`` line records the perfect-generator floor once.
Sampling uses its own seeded generator, so evaluation leaves training unchanged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from genforge import runlog
from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    import torch

    from genforge.trainer import TrainingRun


def _enabled(run: TrainingRun) -> bool:
    process = getattr(run, "process", None)
    return run.config.run.trainer.eval_every > 0 and (process is None or process.main)


def _score(run: TrainingRun, floor: bool) -> dict[str, float]:
    """One evaluation of the run's current model (seed 0); floor values when ``floor``."""
    from genforge.api import LoadedModel
    from genforge.evaluate import evaluate

    tcfg = run.config.run.trainer
    loaded = LoadedModel(model=run.model, config=run.config, info=run.data_info, path=run.out)
    options: dict[str, object] = {"extractor": tcfg.eval_extractor} if tcfg.eval_extractor else {}
    metrics = list(tcfg.eval_metrics) or None
    ema = getattr(run, "ema", None)
    was_training = run.model.training
    run.model.eval()
    try:
        with ema.applied() if ema is not None else contextlib.nullcontext():
            results = evaluate(loaded, metrics, n=tcfg.eval_n, seeds=1, options=options,
                               plugins=run.plugins, floor=floor, data=run.extras["eval_data"])
    finally:
        run.model.train(was_training)
    if floor:
        return {k: round(v["floor"]["mean"], 6) for k, v in results.items() if "floor" in v}
    return {k: round(v["mean"], 6) for k, v in results.items()}


def _write(run: TrainingRun, line: Mapping[str, object]) -> None:
    log = run.extras.get("metrics_log")
    if log is not None:
        log.write(runlog.encode(line))
        log.flush()
    else:
        with (run.out / runlog.LOG_FILE).open("a") as f:
            f.write(runlog.encode(line))


@hookimpl(trylast=True)
def genforge_on_train_start(run: TrainingRun) -> None:
    """Load the evaluation data and log the floor once per run folder."""
    if not _enabled(run):
        return
    from genforge.build import load_data

    run.extras["eval_data"] = load_data(run.config, run.plugins)
    path = run.out / runlog.LOG_FILE
    if not any(row.get("kind") == "floor" for row in (runlog.read(path) if path.exists() else [])):
        start = time.perf_counter()
        values = _score(run, floor=True)
        _write(run, {"step": 0, "kind": "floor", "n": run.config.run.trainer.eval_n, **values,
                     "eval_s": round(time.perf_counter() - start, 3)})


@hookimpl(trylast=True)
def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | torch.Tensor]) -> None:
    """Every ``eval_every`` steps and at the end: score the model and log one ``eval`` line."""
    tcfg = run.config.run.trainer
    if not _enabled(run) or (step % tcfg.eval_every and step != tcfg.steps):
        return
    start = time.perf_counter()
    values = _score(run, floor=False)
    _write(run, {"step": step, "kind": "eval", "n": tcfg.eval_n, **values,
                 "eval_s": round(time.perf_counter() - start, 3)})
