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


def grid_labels(num_classes: int, per_class: int = 10) -> list[int] | None:
    """Labels for a class grid: each class ``per_class`` times, one row per class."""
    if num_classes <= 0:
        return None
    return [c for c in range(num_classes) for _ in range(per_class)]


#: ``run.extras`` key set once the run's samples proved impossible to draw.
UNDRAWABLE = "sample_grids.undrawable"


def write_grid(run: TrainingRun, name: str) -> None:
    """Sample the run's model with a fixed seed and write ``samples/NAME.png`` (if it can be drawn)."""
    import torch

    from genforge.images import save_samples

    if run.extras.get(UNDRAWABLE):
        return
    labels = grid_labels(run.data_info.num_classes) if run.model.conditional else None
    n = len(labels) if labels else run.config.run.trainer.grid_samples
    generator = torch.Generator().manual_seed(run.config.run.seed)
    with run.ema.applied() if run.ema is not None else contextlib.nullcontext():
        samples = run.model.sample(n, labels=labels, generator=generator)
    nrow = 10 if labels else None
    path = run.out / "samples" / f"{name}.png"
    try:
        save_samples(samples.float().cpu().numpy(), path, nrow)
    except ValueError as e:  # what save_samples raises for samples it cannot draw
        run.extras[UNDRAWABLE] = True
        warnings.warn(f"{path.parent}: no sample previews for this run ({e}); the training is not "
                      "affected", stacklevel=2)


@hookimpl
def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | torch.Tensor]) -> None:
    """Write a grid when due (not at the last step: the end writes that one)."""
    tcfg = run.config.run.trainer
    if tcfg.sample_every and step % tcfg.sample_every == 0 and step != tcfg.steps and run.process.main:
        write_grid(run, f"step-{step:06d}")


@hookimpl
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]) -> None:
    """Write the final grid."""
    if run.process.main:
        write_grid(run, f"step-{run.step:06d}")
