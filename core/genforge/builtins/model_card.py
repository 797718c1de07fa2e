"""Built-in plugin writing ``RUN/README.md``: a model card in the Hugging Face format.

YAML front matter (``library_name``, ``tags``, ``datasets``), then what was trained on
what, the options, the steps, the last losses and evaluation, the files, and how to
load the run with ``genforge.load`` and run its ONNX export, so a run folder can be
pushed to a model hub as it is. Rewritten (atomically) after every checkpoint and at
the end of training, by the main process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genforge import __version__
from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    from genforge.trainer import TrainingRun

CARD = "README.md"
HOME = "https://github.com/genforge/genforge"


def _last_eval(log: Path) -> dict[str, Any]:
    """The newest ``"kind": "eval"`` line of ``metrics.jsonl`` (empty when there is none)."""
    last: dict[str, Any] = {}
    if log.is_file():
        for text in log.read_text().splitlines():
            try:
                line = json.loads(text)
            except json.JSONDecodeError:  # a line being written
                continue
            if isinstance(line, dict) and line.get("kind") == "eval":
                last = line
    return last


def _table(rows: Mapping[str, object]) -> list[str]:
    return ["| option | value |", "|---|---|", *(f"| `{k}` | `{json.dumps(v)}` |" for k, v in rows.items())]


def render_card(run: TrainingRun, losses: dict[str, float]) -> str:
    """The model card of ``run`` at its current step, with ``losses`` as the last losses."""
    cfg = run.config
    model, data, info = cfg.run.model.name, cfg.run.data.name, run.data_info
    entry = run.plugins.get("models", model)
    family = f"{entry.plugin.dist} {entry.plugin.version}".strip()
    tags = ["genforge", model, data, "generative-model", "safetensors", "onnx"]
    if info.kind == "image":
        tags.append("unconditional-image-generation" if not info.num_classes else "image-generation")
    front = ["---", "library_name: genforge", "tags:", *(f"- {json.dumps(t)}" for t in tags),
             "datasets:", f"- {json.dumps(data)}", "---", ""]
    shape = "x".join(str(s) for s in info.shape)
    classes = f", {info.num_classes} classes" if info.num_classes else ""
    rate = f" at {info.sample_rate} Hz" if info.sample_rate else ""
    evaluation = {k: v for k, v in _last_eval(Path(run.out) / "metrics.jsonl").items()
                  if k not in ("kind", "n", "eval_s")}
    ema = " (sampling uses the EMA weights; `ema=False` / `--no-ema` for the raw ones)" if run.ema else ""
    lines = [
        *front,
        f"# {model} on {data}",
        "",
        f"A `{model}` generative model ({family}) trained with [genforge]({HOME}) {__version__} "
        f"for {run.step} of {cfg.run.trainer.steps} steps on the `{data}` data source "
        f"({info.kind} samples of shape {shape}{rate}{classes}){ema}.",
        "",
        "## Options",
        "",
        "Model:", "", *_table(cfg.model.model_dump(mode="json")), "",
        "Data:", "", *_table(cfg.data.model_dump(mode="json")), "",
        "Trainer:", "", *_table(cfg.run.trainer.model_dump(mode="json")), "",
        f"Seed: `{cfg.run.seed}`.",
        "",
        "## Results",
        "",
        f"Losses at step {run.step}: "
        + (", ".join(f"`{k}` {v:.4g}" for k, v in losses.items()) or "none logged") + ".",
    ]
    if evaluation:
        step = evaluation.pop("step")
        lines += ["", f"Evaluation at step {step} (`genforge eval` scores more seeds, beside the "
                  "perfect-generator floor):", "", *_table(evaluation)]
    lines += [
        "",
        "## Files",
        "",
        "- `checkpoints/latest` names the newest `checkpoints/step-NNNNNN/`: `config.json` (the "
        "resolved config), `model.safetensors`, `ema.safetensors` (when the run keeps an average), "
        "`training_state.json`",
        "- `metrics.jsonl`: the losses every `log_every` steps (and evaluations); `samples/`: grids",
        "",
        "## Use",
        "",
        f"Needs genforge and the plugin that registers `{model}` ({entry.plugin.dist}).",
        "",
        "```python",
        "import genforge",
        "",
        'loaded = genforge.load("path/to/this/folder")   # its latest checkpoint',
        "samples = loaded.sample(16, seed=0)             # a torch tensor",
        "```",
        "",
        "```",
        "genforge sample path/to/this/folder -n 64 --seed 0 --out grid.png",
        *(["genforge sample path/to/this/folder -n 4 --seed 0 --out sample.wav   # sample-000.wav ..."]
          if info.sample_rate else []),
        "genforge eval path/to/this/folder",
        "```",
        "",
        "Without torch, through ONNX (`pip install 'genforge[onnx]' 'genforge-runtime[cpu]'` to "
        "export; `pip install 'genforge-runtime[cpu,png]'` or `[gpu,png]` where it runs):",
        "",
        "```",
        f"genforge export path/to/this/folder --format onnx --out {model}.onnx",
        f"genforge-run {model}.onnx -n 64 --seed 0 --out grid.png",
        "```",
        "",
    ]
    return "\n".join(lines)


def write_card(run: TrainingRun, losses: dict[str, float]) -> Path:
    """Write ``RUN/README.md`` atomically; return its path."""
    path = Path(run.out) / CARD
    tmp = path.with_name(f".{CARD}.tmp-{os.getpid()}")
    tmp.write_text(render_card(run, losses))
    os.replace(tmp, path)
    return path


def _logged(run: TrainingRun) -> dict[str, float]:
    from genforge.builtins.metrics_log import LOGGED

    return dict(run.extras.get(LOGGED, (0, {}))[1])


@hookimpl
def genforge_on_checkpoint_saved(run: TrainingRun, step: int, path: Path) -> None:
    """Refresh the card after each checkpoint (the main process writes checkpoints)."""
    write_card(run, _logged(run))


@hookimpl
def genforge_on_train_end(run: TrainingRun, metrics: dict[str, float]) -> None:
    """Write the final card with the last step's losses."""
    if run.process.main:
        write_card(run, {k: v for k, v in metrics.items() if k not in ("samples_per_s", "time_s")})
