"""Built-in plugin writing ``RUN/README.md``, the model card (``genforge.card`` renders it).

Rewritten (atomically) after every checkpoint and at the end of training, after the
final sample grid, by the main process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    from genforge.trainer import TrainingRun


@hookimpl
def genforge_on_checkpoint_saved(run: TrainingRun, step: int, path: Path) -> None:
    """Refresh the card after each checkpoint (the main process writes checkpoints)."""
    from genforge.card import refresh

    refresh(run.out, run.plugins)


@hookimpl(trylast=True)
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]) -> None:
    """Write the final card, after the final sample grid is written."""
    from genforge.card import refresh

    if run.process.main:
        refresh(run.out, run.plugins)
