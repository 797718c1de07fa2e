"""The generic trainer: one loop for every model family.

Randomness is confined to the run: the loop runs inside ``torch.random.fork_rng``
(the caller's global RNG is left as it was), the data order of each epoch comes
from a generator seeded by (seed, epoch), the flips of ``data.flip`` from one seeded by
(seed, step) (``augment.step_flips``), and the RNG state is stored in every
checkpoint, so a resumed run repeats an uninterrupted one bit for bit on CPU.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from genforge import augment, distributed
from genforge.build import build_model, load_data, select_device
from genforge.checkpoint import CheckpointMeta, SavedRun, folder_size, has_checkpoint, save_checkpoint
from genforge.config import ResolvedConfig, TrainerConfig
from genforge.data.base import TensorData
from genforge.data.info import DataInfo
from genforge.data.stream import DataPosition, Reader, StreamedSplit, stream_batches
from genforge.distributed import Process
from genforge.ema import EMA
from genforge.errors import CheckpointError, ConfigError, TrainingDiverged, disk_full
from genforge.model import Batch, GenerativeModel
from genforge.plugins import Plugins, default_plugins
from genforge.runlock import RunLock
from genforge.threads import ThreadTuner, cpu_threads
from genforge.weights import check_before_build, load_weights
from genforge_runtime.sizes import size_text


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
    process: Process = field(default_factory=Process)
    ema: EMA | None = None
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    #: where the run stands in a streamed training split (None for an in-memory one)
    data_position: DataPosition | None = None

    @property
    def total_steps(self) -> int:
        """The step count the run ends at."""
        return self.config.run.trainer.steps


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)


def _collate(items: list[tuple[torch.Tensor, torch.Tensor | None]]) -> Batch:
    xs = torch.stack([x for x, _ in items])
    ys = [y for _, y in items]
    return xs, (None if ys[0] is None else torch.stack([torch.as_tensor(y) for y in ys]).long())


def iterate_batches(
    dataset: Dataset, batch_size: int, seed: int, start_step: int, device: torch.device,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[Batch]:
    """Yield shuffled full batches forever, starting at batch ``start_step`` of the schedule.

    With ``shard = (rank, world)`` each process gets its even slice of every global batch,
    so the processes together see exactly the batches of a single-process run.
    """
    rank, world = shard
    local = batch_size // world
    n = len(dataset)  # type: ignore[arg-type]
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise ConfigError(f"trainer.batch_size = {batch_size}: larger than the training split "
                          f"({n} samples)")
    tensors = None
    if isinstance(dataset, TensorData):  # a memory-mapped one stays put: each batch is gathered from it
        tensors = dataset if dataset.on_disk else dataset.to(device)
    epoch, pos = divmod(start_step, per_epoch)
    while True:
        perm = torch.randperm(n, generator=_epoch_generator(seed, epoch))[: per_epoch * batch_size]
        perm = perm.view(per_epoch, world, local)[:, rank].reshape(-1)
        if tensors is not None:
            perm = perm.to(tensors.stored.device)
            for i in range(pos, per_epoch):
                idx = perm[i * local : (i + 1) * local]
                yield tensors.batch(idx, device)
        else:
            loader = DataLoader(dataset, batch_size=local, collate_fn=_collate,
                                sampler=perm[pos * local :].tolist())
            for x, y in loader:
                yield x.to(device, non_blocking=True), (y.to(device) if y is not None else None)
        epoch, pos = epoch + 1, 0


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: Mapping[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def checkpoint_meta(run: TrainingRun) -> CheckpointMeta:
    """What a checkpoint records beside its config: the family's distribution and version, model, step."""
    entry = run.config.model_entry
    return CheckpointMeta(family=entry.plugin.dist, family_version=entry.plugin.version, model=entry.name,
                          step=run.step, data_info=run.data_info)


def save(run: TrainingRun, optimizers: dict[str, torch.optim.Optimizer]) -> Path:
    """Write a checkpoint of the run's current step and tell the plugins (main process only)."""
    state = {
        "step": run.step,
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "rng": _rng_state(run.device),
        "scalers": {name: run.model.grad_scalers[id(opt)].state_dict()
                    for name, opt in optimizers.items() if id(opt) in run.model.grad_scalers},
    }
    if run.data_position is not None:
        state["data"] = run.data_position.state()
    path = save_checkpoint(run.out, run.config.to_dict(), checkpoint_meta(run), run.model.state_dict(),
                           state, keep=run.config.run.trainer.keep_checkpoints,
                           ema_weights=run.ema.shadow if run.ema is not None else None)
    run.checkpoint = path
    run.plugins.hook.genforge_on_checkpoint_saved(run=run, step=run.step, path=path)
    return path


def _restore(run: TrainingRun, optimizers: dict[str, torch.optim.Optimizer]) -> None:
    saved = SavedRun.open(run.out)
    state = saved.training_state()
    load_weights(run.model, saved.weights(), saved.path)
    step = state.get("step") if isinstance(state, dict) else None
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"{saved.path}: training state: step {step!r} is not a step count")
    try:
        for name, opt in optimizers.items():
            fresh = [dict(g) for g in opt.param_groups]
            opt.load_state_dict(state["optimizers"][name])
            _check_optimizer(opt, fresh, f"{saved.path}: optimizer {name!r}")
            if id(opt) in run.model.grad_scalers and name in state.get("scalers", {}):
                run.model.grad_scalers[id(opt)].load_state_dict(state["scalers"][name])
        if run.ema is not None:
            averaged = saved.ema_weights()
            if averaged is not None:
                run.ema.load(averaged)
            else:  # EMA switched on for a resumed run: start averaging from here
                run.ema = EMA(run.model, run.ema.decay)
        _set_rng_state(state["rng"], run.device)
    except (KeyError, IndexError, TypeError, AttributeError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{saved.path}: training state does not match this model: "
                              f"{type(e).__name__}: {e}".splitlines()[0]) from None
    run.step = step
    run.checkpoint = saved.path
    if run.data_position is not None:
        if "data" in state:
            run.data_position = DataPosition.from_state(state["data"], str(saved.path))
        else:
            warnings.warn(f"{saved.path}: the checkpoint has no data position (its run read in-memory "
                          "data); the streamed data is read from its start", stacklevel=2)


def _same_kind(got: Any, want: Any) -> bool:
    """``got`` (restored) is of the kind of ``want`` (a fresh optimizer's setting)."""
    if isinstance(want, bool) or want is None:
        return got is None or isinstance(got, bool)
    if isinstance(want, (int, float)):
        return isinstance(got, (int, float)) and not isinstance(got, bool)
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(
            _same_kind(g, w) for g, w in zip(got, want, strict=True))
    return isinstance(got, type(want))


def _check_optimizer(opt: torch.optim.Optimizer, fresh: list[dict[str, Any]], where: str) -> None:
    """Refuse restored settings or state that the next step would trip over (a tampered file)."""
    for group, want in zip(opt.param_groups, fresh, strict=True):
        for key, value in want.items():
            if key != "params" and not _same_kind(group.get(key), value):
                raise CheckpointError(f"{where}: setting {key} = {group.get(key)!r}, expected a value "
                                      f"like {value!r}")
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                fits = (isinstance(value, torch.Tensor) and value.shape in (p.shape, torch.Size()) and
                        value.is_floating_point()) or (isinstance(value, (int, float)) and
                                                       not isinstance(value, bool))
                if not fits:
                    raise CheckpointError(f"{where}: state {key} does not fit a parameter of shape "
                                          f"{list(p.shape)}")


def stop_if_diverged(run: TrainingRun, metrics: Mapping[str, float | torch.Tensor], weights: bool) -> None:
    """Raise ``TrainingDiverged`` if a loss (or, when ``weights``, a weight) is NaN or infinite.

    Every process reaches the same verdict (one all-reduce), so they stop together.
    """
    values = _as_floats(metrics)
    bad = next(((k, v) for k, v in values.items() if not math.isfinite(v)), None)
    if bad is None and weights:
        tensors = [*run.model.state_dict().values(), *(run.ema.shadow.values() if run.ema else ())]
        tensors = [t for t in tensors if t.is_floating_point()]
        if tensors and not bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()):
            bad = ("weights", math.nan)
    if run.process.distributed:
        if distributed.mean_over_processes({"bad": float(bad is not None)}, run.device)["bad"] == 0:
            return
        bad = bad or ("loss on another process", math.nan)
    if bad is None:
        return
    kept = f"the last finite checkpoint {run.checkpoint} is kept" if run.checkpoint else \
        "no checkpoint was written"
    raise TrainingDiverged(f"training diverged at step {run.step}: {bad[0]} = {bad[1]}; {kept} "
                           "(a learning rate too high?)")


def _as_floats(metrics: Mapping[str, float | torch.Tensor]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


def _autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[object]:
    """The autocast context of a precision setting (a no-op for 32-bit)."""
    if precision == "32":
        return contextlib.nullcontext()
    if precision == "16-mixed" and device.type != "cuda":
        raise ConfigError("trainer.precision = '16-mixed': needs CUDA; use 'bf16' on the CPU")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def _lr_schedule(kind: str, steps: int,
                 optimizers: dict[str, torch.optim.Optimizer]) -> Callable[[int], None] | None:
    """A function of the step that sets every optimizer's rate (None for a constant rate).

    The rate depends on the step alone, so a resumed run follows the same schedule.
    """
    if kind == "none":
        return None
    groups = [g for opt in optimizers.values() for g in opt.param_groups]
    for g in groups:
        g.setdefault("initial_lr", g["lr"])

    def apply(step: int) -> None:
        t = step / steps
        factor = 1.0 - t if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))
        for g in groups:
            g["lr"] = g["initial_lr"] * factor

    return apply


def _prepare_model(model: GenerativeModel, tcfg: TrainerConfig, process: Process,
                   optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Apply memory format, BatchNorm sync, compilation, gradient scaling and sync."""
    if tcfg.channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # the stubs lack it
    if tcfg.sync_batchnorm and process.distributed:
        if model.device.type != "cuda":
            raise ConfigError("trainer.sync_batchnorm = true: needs CUDA (NCCL)")
        for name, child in list(model.named_children()):
            model._modules[name] = torch.nn.SyncBatchNorm.convert_sync_batchnorm(child)
    if tcfg.compile:
        for child in model.children():
            child.compile()
    if tcfg.precision == "16-mixed":
        model.grad_scalers = {id(opt): torch.amp.GradScaler("cuda") for opt in optimizers.values()}
    if process.distributed:
        distributed.broadcast_parameters(model)
        model.ddp = distributed.wrap_optimizers(optimizers, model.device)


def train(resolved: ResolvedConfig, plugins: Plugins | None = None, resume: bool = False) -> TrainingRun:
    """Train the configured model; return the finished ``TrainingRun``.

    Under ``torchrun`` every process calls this: gradients are averaged across processes,
    each takes an even share of every batch, and only the main process writes files.
    """
    plugins = plugins or default_plugins()
    process = distributed.from_env()
    with RunLock(resolved.run.out, enabled=process.main):
        return _train(resolved, plugins, resume, process)


def _train(resolved: ResolvedConfig, plugins: Plugins, resume: bool, process: Process) -> TrainingRun:
    """``train`` inside the run lock."""
    cfg = resolved.run
    tcfg = cfg.trainer
    out = Path(cfg.out)
    if not resume and has_checkpoint(out):
        raise ConfigError(f"out = {str(out)!r}: already holds a run; pass --resume to continue it "
                          f"or choose another output folder")
    if tcfg.batch_size % process.world:
        raise ConfigError(f"trainer.batch_size = {tcfg.batch_size}: must divide evenly over "
                          f"{process.world} processes")
    device = select_device(tcfg.device, process)
    autocast = _autocast(tcfg.precision, device)
    created = distributed.init(process, device)
    cuda = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda), cpu_threads(tcfg.threads, device) as tuner:
            torch.manual_seed(cfg.seed)
            data = load_data(resolved, plugins)
            if resume:
                check_before_build(lambda: build_model(resolved, data.info),
                                   SavedRun.open(out).weights_file)
            model = build_model(resolved, data.info).to(device)
            optimizers = model.configure_optimizers()
            _prepare_model(model, tcfg, process, optimizers)
            ema = EMA(model, tcfg.ema_decay) if tcfg.ema_decay > 0 else None
            run = TrainingRun(resolved, model, data.info, out, device, plugins, process=process, ema=ema,
                              optimizers=optimizers,
                              data_position=DataPosition() if isinstance(data.train, StreamedSplit) else None)
            if resume:
                _restore(run, optimizers)
            if process.distributed and not process.main:  # decorrelate the noise of each process
                torch.manual_seed(cfg.seed + 1_000_003 * process.rank + run.step)
            if process.main:
                out.mkdir(parents=True, exist_ok=True)
            try:
                _loop(run, optimizers, data.train, autocast, tuner, flip=data.flip)
            except Exception as e:
                if not disk_full(e):
                    raise
                raise CheckpointError(_disk_full_message(run, e)) from e
            if created:  # no process tears the group down while another still uses it
                torch.distributed.barrier()
    finally:
        if created:
            torch.distributed.destroy_process_group()
    return run


def _disk_full_message(run: TrainingRun, error: Exception) -> str:
    """One line for a full disk during training: what was kept, how much room a checkpoint takes."""
    writing = f" writing {error.filename}" if isinstance(error, OSError) and error.filename else ""
    where = f"the disk is full at step {run.step} (no space left on the device{writing})"
    if run.checkpoint is None:
        return f"{run.out}: {where}; no checkpoint was written; free space and train again"
    return (f"{run.out}: {where}; the last checkpoint {run.checkpoint} is kept; free space (a checkpoint "
            f"takes about {size_text(folder_size(run.checkpoint))}) and continue with --resume")


def _loop(run: TrainingRun, optimizers: dict[str, torch.optim.Optimizer], dataset: Dataset,
          autocast: contextlib.AbstractContextManager[object], tuner: ThreadTuner | None = None,
          flip: bool = False) -> None:
    """Run the steps from ``run.step`` to the end, with hooks and checkpoints (``tuner`` times the steps).

    With ``flip`` each batch is mirrored as ``augment.step_flips`` says: a function of the
    seed and the step, so a resumed run flips as an uninterrupted one and the global RNG is untouched.
    """
    cfg = run.config.run
    tcfg = cfg.trainer
    model = run.model
    model.train()
    run.plugins.hook.genforge_on_train_start(run=run)
    if isinstance(dataset, StreamedSplit) and run.data_position is not None:
        reader = Reader(run.process.rank, run.process.world, max(1, tcfg.workers),
                        tcfg.batch_size // run.process.world)
        batches = stream_batches(dataset, cfg.seed, reader, tcfg.workers, run.data_position, run.device)
    else:
        batches = iterate_batches(dataset, tcfg.batch_size, cfg.seed, run.step, run.device,
                                  shard=(run.process.rank, run.process.world))
    metrics: Mapping[str, float | torch.Tensor] = {}
    schedule = _lr_schedule(tcfg.lr_decay, tcfg.steps, optimizers)
    while run.step < tcfg.steps:
        if schedule is not None:
            schedule(run.step)
        started = time.perf_counter()
        x, y = next(batches)
        if flip:
            x = augment.flip(x, augment.step_flips(cfg.seed, run.step, tcfg.batch_size,
                                                   (run.process.rank, run.process.world)))
        if tcfg.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            metrics = model.train_step((x, y), optimizers)
        if run.ema is not None:
            run.ema.update(run.step)
        if tuner is not None:
            tuner.step_took(time.perf_counter() - started)
        run.step += 1
        due = bool(tcfg.checkpoint_every and run.step % tcfg.checkpoint_every == 0) or run.step == tcfg.steps
        if due or run.step % tcfg.log_every == 0:  # the loss is read here only: no per-step sync
            stop_if_diverged(run, metrics, weights=due)
        run.plugins.hook.genforge_on_step_end(run=run, step=run.step, metrics=metrics)
        if due and run.process.main:
            save(run, optimizers)
    run.metrics = _as_floats(metrics)
    if run.process.distributed:
        run.metrics = distributed.mean_over_processes(run.metrics, run.device)
        torch.distributed.barrier()
    run.plugins.hook.genforge_on_train_end(run=run, metrics=run.metrics)
