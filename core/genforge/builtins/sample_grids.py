"""Built-in plugin writing sample grids under ``samples/``: every ``trainer.sample_every`` steps, at the end.

The grid uses a fixed seed (and the EMA weights when the run keeps an average), so
grids of different steps show the same latents. Samples that cannot be drawn (images of
five channels, say) never stop a run: the first grid that fails warns once, and the
run writes no more grids.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING

from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    import torch

    from genforge.trainer import TrainingRun


#: ``run.extras`` key set once the run's samples proved impossible to draw.
UNDRAWABLE = "sample_grids.undrawable"


def write_grid(run: TrainingRun, step: int) -> None:
    """Sample the model with the run's seed; write the grid of ``step`` to ``samples/`` if drawable."""
    from genforge.checkpoint import grid_file
    from genforge.images import save_samples
    from genforge.sampling import grid_samples

    if run.extras.get(UNDRAWABLE):
        return
    with run.ema.applied() if run.ema is not None else contextlib.nullcontext():
        samples, nrow = grid_samples(run.model, run.data_info.num_classes, run.config.run.seed,
                                     run.config.run.trainer.grid_samples)
    path = run.out / grid_file(step)
    try:
        save_samples(samples.numpy(), path, nrow)
    except ValueError as e:  # what save_samples raises for samples it cannot draw
        run.extras[UNDRAWABLE] = True
        warnings.warn(f"{path.parent}: no sample previews for this run ({e}); the training is not "
                      "affected", stacklevel=2)


@hookimpl
def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | torch.Tensor]) -> None:
    """Write a grid when due (not at the last step: the end writes that one)."""
    tcfg = run.config.run.trainer
    if tcfg.sample_every and step % tcfg.sample_every == 0 and step != tcfg.steps and run.process.main:
        write_grid(run, step)


@hookimpl
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]) -> None:
    """Write the final grid."""
    if run.process.main:
        write_grid(run, run.step)
