"""The model card: ``README.md`` in the Hugging Face format, of a run folder or a published copy.

YAML front matter that a model hub reads (``library_name``, ``license``, ``pipeline_tag``,
``tags``, ``datasets``), then what was trained on what, a sample grid, the sampling
defaults, the options, the last losses and evaluations, the files and how to use them.
A card is a function of its folder (``run_card_facts`` reads the checkpoint, ``metrics.jsonl``,
``eval.json`` and the files present), so the trainer, ``genforge eval``, ``genforge export``
and ``genforge publish`` write the same card for the same folder.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genforge import runlog
from genforge.checkpoint import (
    CHECKPOINTS,
    EMA_WEIGHTS,
    LATEST,
    SAMPLES,
    STEP_NAME,
    SavedRun,
    grid_file,
    write_atomic_text,
)
from genforge.config import CardConfig, ResolvedConfig, resolve
from genforge.errors import GenforgeError
from genforge.eval_record import EVAL_FILE
from genforge.eval_record import read as read_evaluation
from genforge.hub import CONDITIONAL_TAG, IMAGE_PIPELINE_TAG
from genforge.metrics.report import BETTER, cell, fmt, header_lines
from genforge.plugins import Plugins

CARD = "README.md"
HOME = "https://github.com/genforge/genforge"
#: Keys of a ``metrics.jsonl`` line that are not values of the model.
_LOG_KEYS = ("step", "kind", "n", "eval_s", "samples_per_s", "time_s", "nonfinite")
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._+/-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


@dataclass(frozen=True)
class CardFacts:
    """What a card says, gathered from its folder; ``files`` are (name, what it holds) pairs and
    ``published`` tells a copy from ``genforge publish`` from a run folder."""

    saved: SavedRun
    config: ResolvedConfig
    plugin: str
    conditional: bool
    hub_dataset: str
    losses: Mapping[str, Any] | None
    train_eval: Mapping[str, Any] | None
    floor: Mapping[str, Any] | None
    evaluation: Mapping[str, Any] | None
    grid: str | None
    grid_step: int | None
    onnx: Sequence[str]
    files: Sequence[tuple[str, str]]
    published: bool


def front_matter(facts: CardFacts) -> dict[str, str | list[str]]:
    """The card's metadata: what a hub reads to list, filter and license the model."""
    card = facts.config.run.card
    run = facts.config.run
    meta: dict[str, str | list[str]] = {"library_name": "genforge", "license": card.license}
    if card.license == "other":
        meta["license_name"] = card.license_name
        if card.license_link:
            meta["license_link"] = card.license_link
    if facts.saved.meta.data_info.kind == "image":
        meta["pipeline_tag"] = IMAGE_PIPELINE_TAG
    tags = ["genforge", run.model.name, run.data.name, "generative-model", "safetensors"]
    tags += ["onnx"] * bool(facts.onnx) + [CONDITIONAL_TAG] * facts.conditional
    meta["tags"] = list(dict.fromkeys(tags))
    datasets = card.datasets or ([facts.hub_dataset] if facts.hub_dataset else [])
    if datasets:
        meta["datasets"] = list(datasets)
    return meta


def _scalar(value: str) -> str:
    return value if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS else json.dumps(value)


def yaml_lines(meta: Mapping[str, str | list[str]]) -> list[str]:
    """``meta`` as YAML lines (strings plain where YAML reads them back as the same string)."""
    lines = []
    for key, value in meta.items():
        if isinstance(value, list):
            lines += [f"{key}:", *(f"- {_scalar(v)}" for v in value)]
        else:
            lines.append(f"{key}: {_scalar(value)}")
    return lines


def _license_line(card: CardConfig) -> str:
    if card.license == "unknown":
        return ("License: none chosen for these weights yet (`card.license` is `unknown`; "
                "`genforge publish RUN --out DIR --set card.license=ID` chooses one).")
    if card.license == "other":
        return f"License: {card.license_name}" + (f" ({card.license_link})." if card.license_link else ".")
    return f"License: `{card.license}`."


def _table(rows: Mapping[str, object]) -> list[str]:
    return ["| option | value |", "|---|---|", *(f"| `{k}` | `{json.dumps(v)}` |" for k, v in rows.items())]


def _values(line: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k not in _LOG_KEYS}


def _cell(summary: Mapping[str, Any] | None) -> str:
    """``mean ± std`` of a recorded summary; ``-`` for none (or a value that was not finite: null)."""
    if not summary or not all(isinstance(summary.get(k), (int, float)) for k in ("mean", "std")):
        return "-"
    return cell(summary)  # type: ignore[arg-type]  # a recorded Summary, read back from JSON


def _number(value: object) -> str:
    return fmt(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _sampling(facts: CardFacts) -> list[str]:
    sampler = facts.config.sampler
    lines = ["## Sampling", ""]
    if facts.conditional:
        names = facts.saved.meta.data_info.class_names
        shown = ", ".join(f"`{n}`" for n in names[:20]) + (", ..." if len(names) > 20 else "")
        lines += [f"Label-conditioned: `loaded.sample(4, labels=[0, 0, 1, 1])` draws two samples of each "
                  f"of the first two classes, `--labels` on the command line ({len(names)} classes: "
                  f"{shown}).", ""]
    if sampler is not None:
        lines += ["Sampling defaults (the run's `[sampler]`; change them per call, e.g. "
                  "`loaded.sample(16, steps=20)` or `--set sampler.steps=20`):", "",
                  *_table(sampler.model_dump(mode="json")), ""]
    return lines if len(lines) > 2 else []


def _results(facts: CardFacts) -> list[str]:
    step = facts.saved.meta.step
    lines = ["## Results", ""]
    if facts.losses is not None:
        losses = ", ".join(f"`{k}` {_number(v)}" for k, v in _values(facts.losses).items())
        lines += [f"Losses at step {facts.losses['step']}: {losses or 'none logged'}.", ""]
    evaluation = facts.evaluation
    if evaluation is not None:
        meta = evaluation.get("meta", {})
        weights = "EMA weights" if evaluation.get("ema") else "raw weights"
        sampler = evaluation.get("sampler")
        how = f"{weights}" + (f", sampler {json.dumps(sampler)}" if sampler else "")
        beside = (", beside the floor (a perfect generator: training samples scored the same way)"
                  if meta.get("floor") else "")
        lines += [f"`genforge eval` of step {evaluation['step']} ({how}): mean ± std over seeds{beside}.", ""]
        lines += [f"- {line}" for line in header_lines(meta)] + [""]
        lines += ["| value | model | floor | better |", "|---|---|---|---|",
                  *(f"| `{key}` | {_cell(summary)} | {_cell(summary.get('floor'))} | {BETTER.get(key, '')} |"
                    for key, summary in evaluation["results"].items()), ""]
    if facts.train_eval is not None:
        line, floor = facts.train_eval, facts.floor or {}
        lines += [f"Evaluated while training, at step {line['step']} ({line.get('n', '?')} samples, seed 0):",
                  "", "| value | model | floor |", "|---|---|---|",
                  *(f"| `{k}` | {_number(v)} | {_number(floor.get(k))} |"
                    for k, v in _values(line).items()), ""]
    if len(lines) == 2:
        lines += [f"Nothing logged up to step {step}.", ""]
    return lines


def render_card(facts: CardFacts) -> str:
    """The card's text: front matter, then the body."""
    cfg, saved = facts.config, facts.saved
    model, data, info = cfg.run.model.name, cfg.run.data.name, saved.meta.data_info
    shape = "x".join(str(s) for s in info.shape)
    classes = f", {info.num_classes} classes" if info.num_classes else ""
    if info.sample_rate:
        classes += f", {info.sample_rate} Hz"
    ema = (saved.path / EMA_WEIGHTS).is_file()
    averaged = " (sampling uses the EMA weights; `ema=False` / `--no-ema` for the raw ones)" if ema else ""
    lines = ["---", *yaml_lines(front_matter(facts)), "---", "",
             f"# {model} on {data}", "",
             f"A `{model}` generative model ({facts.plugin}) trained with [genforge]({HOME}) "
             f"{saved.meta.genforge_version} for {saved.meta.step} of {cfg.run.trainer.steps} steps on the "
             f"`{data}` data source ({info.kind} samples of shape {shape}{classes}){averaged}.", "",
             _license_line(cfg.run.card), ""]
    if facts.grid is not None:
        rows = ", one row per class" if facts.conditional and info.num_classes else ""
        lines += [f"![samples at step {facts.grid_step}{rows}]({facts.grid})", "",
                  f"Samples at step {facts.grid_step} (seed {cfg.run.seed}{rows}).", ""]
    lines += _sampling(facts)
    lines += _results(facts)
    lines += ["## Options", "",
              "Model:", "", *_table(cfg.model.model_dump(mode="json")), "",
              "Data:", "", *_table(cfg.data.model_dump(mode="json")), "",
              "Trainer:", "", *_table(cfg.run.trainer.model_dump(mode="json")), "",
              f"Seed: `{cfg.run.seed}`.", "",
              "## Files", "", *(f"- `{name}`: {what}" for name, what in facts.files), "",
              *([] if facts.published else [
                  "`genforge publish path/to/this/folder --out DIR` writes the copy to push to a hub: "
                  "the weights, the config, this card and a sample grid, without the training state.", ""]),
              "## Use", "",
              f"Needs genforge and the plugin that registers `{model}` ({saved.meta.family}).", "",
              "```python", "import genforge", "",
              'loaded = genforge.load("path/to/this/folder")   # its weights, ready to sample',
              "samples = loaded.sample(16, seed=0)             # a torch tensor", "```", "",
              "```", "genforge sample path/to/this/folder -n 64 --seed 0 --out grid.png",
              "genforge eval path/to/this/folder", "```", ""]
    if facts.onnx:
        lines += ["Without torch, with the ONNX export in this folder (`pip install "
                  "'genforge-runtime[cpu,png]'`, or `[gpu,png]`):", "", "```",
                  *(f"genforge-run path/to/this/folder/{name} -n 64 --seed 0 --out grid.png"
                    for name in facts.onnx), "```", ""]
    else:
        lines += ["Without torch, through ONNX (`pip install 'genforge[onnx]' 'genforge-runtime[cpu]'` to "
                  "export; `pip install 'genforge-runtime[cpu,png]'` or `[gpu,png]` where it runs):", "",
                  "```", f"genforge export path/to/this/folder --format onnx --out {model}.onnx",
                  f"genforge-run {model}.onnx -n 64 --seed 0 --out grid.png", "```", ""]
    return "\n".join(lines)


def card_facts(saved: SavedRun, plugins: Plugins, log: Path | None, *, evaluation: Mapping[str, Any] | None,
               grid: str | None, grid_step: int | None, onnx: Sequence[str],
               files: Sequence[tuple[str, str]], published: bool) -> CardFacts:
    """The facts of ``saved``'s card: its config and plugin, the losses and training evaluations
    of the run log ``log`` up to its step, and what the folder holds (the keywords)."""
    with warnings.catch_warnings():  # keys a newer genforge wrote are ignored on loading too
        warnings.simplefilter("ignore")
        config = resolve(saved.config, plugins, strict=False, defaults=False)
    entry = plugins.get("models", config.run.model.name)
    rows = _log_rows(log, saved.meta.step) if log is not None else []
    training = [r for r in rows if "kind" not in r]
    evals = [r for r in rows if r.get("kind") == "eval"]
    floors = [r for r in rows if r.get("kind") == "floor"]
    return CardFacts(saved=saved, config=config, plugin=entry.plugin.label,
                     conditional=bool(entry.conditional),
                     hub_dataset=plugins.get("data_sources", config.run.data.name).hub_dataset,
                     losses=training[-1] if training else None, train_eval=evals[-1] if evals else None,
                     floor=floors[-1] if floors else None, evaluation=evaluation, grid=grid,
                     grid_step=grid_step, onnx=onnx, files=files, published=published)


def _log_rows(log: Path, step: int) -> list[dict[str, Any]]:
    """The lines of a run log up to ``step`` (none, with a warning, when it cannot be read)."""
    if not log.is_file():
        return []
    try:
        return [r for r in runlog.read(log) if r.get("step", 0) <= step]
    except GenforgeError as e:
        warnings.warn(f"{e}; the model card leaves the log out", stacklevel=2)
        return []


def run_card_facts(run_dir: Path, plugins: Plugins) -> CardFacts:
    """The facts of a run folder's card: its latest checkpoint and what the folder holds."""
    saved = SavedRun.open(run_dir)
    step = saved.meta.step
    try:
        evaluation = read_evaluation(run_dir)
    except GenforgeError as e:
        warnings.warn(f"{e}; the model card leaves it out", stacklevel=2)
        evaluation = None
    drawn = [int(p.stem.removeprefix("step-")) for p in (run_dir / SAMPLES).glob("step-*.png")
             if STEP_NAME.fullmatch(p.stem)]
    grid_step = max((s for s in drawn if s <= step), default=None)
    onnx = sorted(p.name for p in run_dir.glob("*.onnx") if p.is_file())
    ema = (saved.path / EMA_WEIGHTS).is_file()
    files = [(f"{CHECKPOINTS}/{LATEST}", f"names the newest `{CHECKPOINTS}/step-NNNNNN/`, which holds "
              "`config.json` (the resolved config), `model.safetensors`"
              + (", `ema.safetensors` (the averaged weights)" if ema else "")
              + " and the training state (`training_state.*`)"),
             (runlog.LOG_FILE, "the losses every `log_every` steps (and evaluations)"),
             (f"{SAMPLES}/", "sample grids")]
    files += [(EVAL_FILE, "the newest `genforge eval`")] * (evaluation is not None)
    files += [(name, "an ONNX export (`genforge export`)") for name in onnx]
    files += [("train.lock", "held by a running trainer")]
    return card_facts(saved, plugins, run_dir / runlog.LOG_FILE, evaluation=evaluation,
                      grid=grid_file(grid_step) if grid_step is not None else None, grid_step=grid_step,
                      onnx=onnx, files=files, published=False)


def write_card(folder: Path, facts: CardFacts) -> Path:
    """Write ``folder/README.md`` atomically; return its path."""
    path = folder / CARD
    write_atomic_text(path, render_card(facts))
    return path


def refresh(folder: Path, plugins: Plugins) -> Path | None:
    """Rewrite the card of ``folder`` if it is a run folder; None (nothing written) if it is not."""
    if not (folder / CHECKPOINTS / LATEST).is_file():
        return None
    return write_card(folder, run_card_facts(folder, plugins))
