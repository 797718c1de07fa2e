"""Built-in plugin mirroring a run's log to TensorBoard (``"tensorboard"`` in ``trainer.loggers``).

It writes ``RUN/tensorboard/events.out.tfevents.*``: every ``metrics.jsonl`` line as
scalars (losses under ``train/``, evaluations under ``eval/``, the perfect-generator
floor under ``floor/``), each optimizer's learning rate under ``lr/NAME`` at every logged
step, and every sample grid as the image ``samples``. Its hooks are wrappers that run
after the other plugins' and read what they wrote, so the two logs always agree. A
resumed run purges the events after the step it restarts from. Needs the tensorboard
package (``pip install 'genforge[tensorboard]'``); tensorboard and torch are imported
only when a run asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

from genforge.errors import ConfigError
from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    import torch

    from genforge.trainer import TrainingRun

#: ``run.extras`` key of the writer state (absent when the run does not log to TensorBoard).
STATE = "tensorboard"
HINT = ("trainer.loggers = ['tensorboard'] needs the tensorboard package: "
        "pip install 'genforge[tensorboard]'")


class TensorBoardLog:
    """A TensorBoard writer fed from ``metrics.jsonl`` (read from a byte offset) and the grids."""

    def __init__(self, run: TrainingRun) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(HINT) from None
        self.source = Path(run.out) / "metrics.jsonl"
        # a resumed run continues after its checkpoint's lines; a new one reads from the start
        self.offset = self.source.stat().st_size if run.step and self.source.exists() else 0
        # events of steps after the checkpoint a resumed run restarts from are purged
        self.writer = SummaryWriter(log_dir=str(Path(run.out) / "tensorboard"),
                                    purge_step=run.step + 1 if run.step else None)

    def read_log(self, run: TrainingRun) -> None:
        """Write the log lines added since the last call as scalars (and the learning rates)."""
        if not self.source.exists() or self.source.stat().st_size <= self.offset:
            return
        with self.source.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits
        self.offset += len(complete)
        for raw in complete.splitlines():
            line = json.loads(raw)
            step, kind = int(line["step"]), line.get("kind", "train")
            for key, value in line.items():
                if key not in ("step", "kind", "n") and isinstance(value, (int, float)):
                    self.writer.add_scalar(f"{kind}/{key}", value, step)
            if kind == "train":
                for name, opt in getattr(run, "optimizers", {}).items():
                    self.writer.add_scalar(f"lr/{name}", opt.param_groups[0]["lr"], step)

    def add_grid(self, path: Path, step: int) -> None:
        """Add a sample grid PNG as the image ``samples`` at ``step``."""
        import numpy as np
        from PIL import Image

        if path.is_file():
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writer.add_image("samples", pixels, step, dataformats="HWC")

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()


def _grid(run: TrainingRun, step: int) -> Path:
    return Path(run.out) / "samples" / f"step-{step:06d}.png"


def _wanted(run: TrainingRun) -> bool:
    return "tensorboard" in run.config.run.trainer.loggers and run.process.main


@hookimpl(wrapper=True)
def genforge_on_train_start(run: TrainingRun) -> Generator[None, list[None], list[None]]:
    """Open the event file (after the metrics log has been trimmed for a resume)."""
    log = TensorBoardLog(run) if _wanted(run) else None  # a missing package fails before anything runs
    result = yield
    if log is not None:
        run.extras[STATE] = log
        log.read_log(run)
    return result


@hookimpl(wrapper=True)
def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | torch.Tensor]
                         ) -> Generator[None, list[None], list[None]]:
    """After the other plugins: mirror new log lines and a grid written at this step."""
    result = yield
    log = run.extras.get(STATE)
    if log is not None:
        log.read_log(run)
        every = run.config.run.trainer.sample_every
        if every and step % every == 0 and step != run.config.run.trainer.steps:
            log.add_grid(_grid(run, step), step)
    return result


@hookimpl(wrapper=True)
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]
                          ) -> Generator[None, list[None], list[None]]:
    """After the final grid and the last lines: mirror them and close the event file."""
    result = yield
    log = run.extras.pop(STATE, None)
    if log is not None:
        log.read_log(run)
        log.add_grid(_grid(run, run.step), run.step)
        log.close()
    return result
