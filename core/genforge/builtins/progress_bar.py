"""Built-in plugin showing a progress bar with the latest logged losses (``trainer.progress``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge.builtins.metrics_log import LOGGED
from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    import torch

    from genforge.trainer import TrainingRun


@hookimpl
def genforge_on_train_start(run: TrainingRun) -> None:
    """Open the bar (shown on the main process only)."""
    from tqdm.auto import tqdm

    tcfg = run.config.run.trainer
    run.extras["progress"] = tqdm(total=tcfg.steps, initial=run.step,
                                  disable=not (tcfg.progress and run.process.main),
                                  desc=run.config.run.model.name, unit="step", dynamic_ncols=True)


@hookimpl(trylast=True)
def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | torch.Tensor]) -> None:
    """Move the bar; show the losses the metrics log wrote at this step."""
    bar = run.extras["progress"]
    bar.update(1)
    logged_step, values = run.extras.get(LOGGED, (None, {}))
    if logged_step == step:
        bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)


@hookimpl
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]) -> None:
    """Close the bar."""
    run.extras["progress"].close()
