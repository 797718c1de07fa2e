"""The generic trainer: one loop for every model family.

Randomness is confined to the run: the loop runs inside ``torch.random.fork_rng``
(the caller's global RNG is left as it was), the data order of each epoch comes
from a generator seeded by (seed, epoch), and the RNG state is stored in every
checkpoint, so a resumed run repeats an uninterrupted one bit for bit on CPU.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from genforge import __version__
from genforge.checkpoint import find_checkpoint, read_tensors, read_training_state, save_checkpoint
from genforge.config import ResolvedConfig
from genforge.data.base import Data, TensorData
from genforge.data.info import DataInfo
from genforge.errors import CheckpointError, ConfigError, GenforgeError
from genforge.model import Batch, GenerativeModel
from genforge.plugins import Plugins, default_plugins


@dataclass
class TrainingRun:
    """Everything a trainer hook may look at; ``extras`` holds per-run plugin state."""

    config: ResolvedConfig
    model: GenerativeModel
    data_info: DataInfo
    out: Path
    device: torch.device
    plugins: Plugins
    step: int = 0
    checkpoint: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def total_steps(self) -> int:
        """The step count the run ends at."""
        return self.config.run.trainer.steps


def select_device(spec: str) -> torch.device:
    """Turn ``auto``/``cpu``/``cuda[:N]`` into a usable device, or fail with a clear error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.device = {spec!r}: CUDA is not available on this machine")
    return torch.device(spec)


def load_data(resolved: ResolvedConfig, plugins: Plugins) -> Data:
    """Run the configured data source."""
    entry = plugins.get("data_sources", resolved.run.data.name)
    data = entry.load()(resolved.data)
    if not isinstance(data, Data):
        raise GenforgeError(f"data source {entry.name!r} ({entry.plugin.label}) returned "
                            f"{type(data).__name__}, expected genforge.Data")
    return data


def build_model(resolved: ResolvedConfig, info: DataInfo, plugins: Plugins) -> GenerativeModel:
    """Build the configured model family for data described by ``info``."""
    entry = plugins.get("models", resolved.run.model.name)
    cls = entry.load()
    if entry.options.get("conditional") and info.num_classes == 0:
        raise ConfigError(f"model.name = {entry.name!r}: needs labelled data, but data source "
                          f"{resolved.run.data.name!r} has no classes")
    try:
        model = cls(resolved.model, info)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if not isinstance(model, GenerativeModel):
        raise GenforgeError(f"model {entry.name!r} ({entry.plugin.label}) built "
                            f"{type(model).__name__}, expected a GenerativeModel")
    return model


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)


def _collate(items: list[tuple[torch.Tensor, torch.Tensor | None]]) -> Batch:
    xs = torch.stack([x for x, _ in items])
    ys = [y for _, y in items]
    return xs, (None if ys[0] is None else torch.stack([torch.as_tensor(y) for y in ys]).long())


def iterate_batches(
    dataset: Dataset, batch_size: int, seed: int, start_step: int, device: torch.device
) -> Iterator[Batch]:
    """Yield shuffled full batches forever, starting at batch ``start_step`` of the schedule."""
    n = len(dataset)  # type: ignore[arg-type]
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise ConfigError(f"trainer.batch_size = {batch_size}: larger than the training split "
                          f"({n} samples)")
    tensors = dataset.to(device) if isinstance(dataset, TensorData) else None
    epoch, pos = divmod(start_step, per_epoch)
    while True:
        perm = torch.randperm(n, generator=_epoch_generator(seed, epoch))[: per_epoch * batch_size]
        if tensors is not None:
            perm = perm.to(device)
            for i in range(pos, per_epoch):
                idx = perm[i * batch_size : (i + 1) * batch_size]
                yield tensors.x[idx], (tensors.y[idx] if tensors.y is not None else None)
        else:
            loader = DataLoader(dataset, batch_size=batch_size, collate_fn=_collate,
                                sampler=perm[pos * batch_size :].tolist())
            for x, y in loader:
                yield x.to(device, non_blocking=True), (y.to(device) if y is not None else None)
        epoch, pos = epoch + 1, 0


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def checkpoint_config(run: TrainingRun) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint: the resolved config plus what loading needs."""
    entry = run.plugins.get("models", run.config.run.model.name)
    return {
        **run.config.to_dict(),
        "_family": entry.plugin.dist,
        "_model": entry.name,
        "_genforge_version": __version__,
        "_step": run.step,
        "data_info": run.data_info.to_dict(),
    }


def save(run: TrainingRun, optimizers: dict[str, torch.optim.Optimizer]) -> Path:
    """Write a checkpoint of the run's current step and tell the plugins."""
    state = {
        "step": run.step,
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "rng": _rng_state(run.device),
    }
    path = save_checkpoint(run.out, run.step, checkpoint_config(run), run.model.state_dict(),
                           state, keep=run.config.run.trainer.keep_checkpoints)
    run.checkpoint = path
    run.plugins.hook.genforge_on_checkpoint_saved(run=run, step=run.step, path=path)
    return path


def _restore(run: TrainingRun, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    ckpt = find_checkpoint(run.out)
    state = read_training_state(ckpt)
    try:
        run.model.load_state_dict(read_tensors(ckpt / "model.safetensors"))
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{ckpt}: does not match this model: {e}".splitlines()[0]) from None
    _set_rng_state(state["rng"], run.device)
    run.step = int(state["step"])
    run.checkpoint = ckpt


def _as_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


def train(resolved: ResolvedConfig, plugins: Plugins | None = None, resume: bool = False) -> TrainingRun:
    """Train the configured model; return the finished ``TrainingRun``."""
    plugins = plugins or default_plugins()
    cfg = resolved.run
    out = Path(cfg.out)
    if not resume and (out / "checkpoints" / "latest").exists():
        raise ConfigError(f"out = {str(out)!r}: already holds a run; pass --resume to continue it "
                          f"or choose another output folder")
    device = select_device(cfg.trainer.device)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(cfg.seed)
        data = load_data(resolved, plugins)
        model = build_model(resolved, data.info, plugins).to(device)
        optimizers = model.configure_optimizers()
        run = TrainingRun(resolved, model, data.info, out, device, plugins)
        if resume:
            _restore(run, optimizers)
        out.mkdir(parents=True, exist_ok=True)
        model.train()
        plugins.hook.genforge_on_train_start(run=run)
        batches = iterate_batches(data.train, cfg.trainer.batch_size, cfg.seed, run.step, device)
        every = cfg.trainer.checkpoint_every
        metrics: dict[str, Any] = {}
        while run.step < cfg.trainer.steps:
            metrics = model.train_step(next(batches), optimizers)
            run.step += 1
            plugins.hook.genforge_on_step_end(run=run, step=run.step, metrics=metrics)
            if (every and run.step % every == 0) or run.step == cfg.trainer.steps:
                save(run, optimizers)
        run.metrics = _as_floats(metrics)
        plugins.hook.genforge_on_train_end(run=run, metrics=run.metrics)
    return run
