"""``genforge publish``: one checkpoint as a new folder to push to a model hub, and nothing else.

The folder holds exactly ``published_files``: ``README.md`` (the model card), ``config.json``,
``model.safetensors``, ``ema.safetensors`` (when the run keeps an average), ``grid.png`` and,
when asked, ``MODEL.onnx``; no training state, lock, log or other checkpoint. It is a
checkpoint folder, so ``genforge.load(DIR)`` loads it. It is written under a temporary
name beside ``out`` and renamed into place when complete. Nothing here touches the network.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge import runlog
from genforge.card import CARD, card_facts, write_card
from genforge.checkpoint import CONFIG, EMA_WEIGHTS, WEIGHTS, SavedRun, grid_file, read_config, run_folder
from genforge.config import CardConfig, validate_section
from genforge.errors import GenforgeError
from genforge.eval_record import read as read_evaluation
from genforge.files import check_empty, new_folder, regular_file
from genforge.plugins import Plugins

GRID = "grid.png"


@dataclass(frozen=True)
class Published:
    """What ``publish`` wrote: the checkpoint's step, the file names and the card's section."""

    step: int
    files: list[str]
    card: CardConfig


def published_files(model: str, ema: bool, onnx: bool) -> list[str]:
    """The files of a published folder, in the order the card lists them."""
    return [CARD, CONFIG, WEIGHTS, *[EMA_WEIGHTS] * ema, GRID, *[f"{model}.onnx"] * onnx]


def _descriptions(model: str, seed: int) -> dict[str, str]:
    return {CARD: "this model card", CONFIG: "the resolved run config, with the family, step and data "
            "description of the checkpoint", WEIGHTS: "the trained weights",
            EMA_WEIGHTS: "the averaged weights, which sampling uses",
            GRID: f"samples of these weights (seed {seed})",
            f"{model}.onnx": "the ONNX export of these weights (`genforge-run` samples it without torch)"}


def _card_section(saved: SavedRun, changes: Mapping[str, object]) -> CardConfig:
    current = saved.config.get("card", {})
    merged = {**(current if isinstance(current, dict) else {}), **changes}
    section = validate_section(CardConfig, merged, "card")
    assert isinstance(section, CardConfig)
    return section


def _grid(folder: Path, run_dir: Path | None, step: int, loaded: Any) -> None:
    """The trainer's grid of ``step`` as ``grid.png``; drawn from the copied weights when there is none."""
    made = run_dir / grid_file(step) if run_dir is not None else None
    if made is not None and made.is_file():
        shutil.copyfile(regular_file(made, "sample grid"), folder / GRID)
        return
    from genforge.images import save_samples
    from genforge.sampling import grid_samples

    run = loaded.config.run
    samples, nrow = grid_samples(loaded.model, loaded.info.num_classes, run.seed, run.trainer.grid_samples)
    save_samples(samples.numpy(), folder / GRID, nrow)


def publish(source: str | Path, out: str | Path, plugins: Plugins, *, onnx: bool = False,
            card: Mapping[str, object] | None = None) -> Published:
    """Write a run folder's latest checkpoint (or a given checkpoint folder) as a folder to push to
    a hub at ``out``; ``card`` changes the ``[card]`` section; ``onnx`` adds an ONNX export.

    Raises ``GenforgeError`` (nothing written) when ``out`` holds anything.
    """
    from genforge.api import load

    out = Path(out)
    check_empty(out)
    saved = SavedRun.open(source)
    run_dir = run_folder(saved.path)
    section = _card_section(saved, card or {})
    model, step = saved.meta.model, saved.meta.step
    ema = (saved.path / EMA_WEIGHTS).is_file()
    if onnx:
        exporter = plugins.get("exporters", "onnx").load()  # before any writing: a missing one stops here
    with new_folder(out) as staging:
        config = read_config(saved.path)
        config["card"] = section.model_dump(mode="json")
        (staging / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        for name in (WEIGHTS, *[EMA_WEIGHTS] * ema):
            shutil.copyfile(regular_file(saved.path / name, "weights file"), staging / name)
        loaded = load(staging, device="cpu", plugins=plugins)
        _grid(staging, run_dir, step, loaded)
        if onnx:
            exporter.export(loaded, staging / f"{model}.onnx", {})
        evaluation = read_evaluation(run_dir) if run_dir is not None else None
        names = published_files(model, ema, onnx)
        described = _descriptions(model, loaded.config.run.seed)
        facts = card_facts(SavedRun.open(staging), plugins,
                           run_dir / runlog.LOG_FILE if run_dir is not None else None,
                           evaluation=evaluation if evaluation and evaluation["step"] == step else None,
                           grid=GRID, grid_step=step, onnx=[n for n in names if n.endswith(".onnx")],
                           files=[(n, described[n]) for n in names], published=True)
        write_card(staging, facts)
        written = sorted(p.name for p in staging.iterdir())
        if written != sorted(names):  # an exporter that wrote more (or less) than its file
            raise GenforgeError(f"{out}: publishing wrote {', '.join(written)}, expected {', '.join(names)}")
    return Published(step=step, files=names, card=section)
