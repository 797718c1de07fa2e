"""Checks through genforge's own trainer and checkpoints: save -> load, no pickle, exact resume."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from genforge.checkpoint import CHECKPOINTS, SavedRun, step_dir_name
from genforge.testing.model_checks import RANDOMNESS_FIX, max_diff, quiet_rng, seeded
from genforge.testing.pickles import record_pickle_calls
from genforge.testing.results import ConformanceError
from genforge.testing.runs import STEPS, TinyRun, reference_run, train
from genforge.testing.subject import Subject

if TYPE_CHECKING:
    from genforge.api import LoadedModel

STATE_FIX = ("Fix: keep every tensor the model needs in its state_dict (parameters and registered "
             "buffers); plain attributes are not saved")


def _load(subject: Subject, kind: str) -> tuple[TinyRun, LoadedModel]:
    import genforge

    ref = reference_run(subject, kind)
    return ref, genforge.load(ref.out, device="cpu", plugins=subject.plugins, ema=False)


def check_save_load(subject: Subject, kind: str) -> None:
    """A checkpoint written by ``genforge.train`` loads back to identical weights and samples."""
    ref, loaded = _load(subject, kind)
    trained, back = ref.run.model, loaded.model
    a, b = trained.state_dict(), back.state_dict()
    if set(a) != set(b):
        raise ConformanceError(f"after save -> load the state_dict keys differ: "
                               f"{sorted(set(a) ^ set(b))[:5]}. {STATE_FIX}")
    changed = [k for k in a if not torch.equal(a[k].cpu(), b[k].cpu())]
    if changed:
        raise ConformanceError(f"after save -> load, {changed[:5]} differ. {STATE_FIX}")
    n = 8
    labels = torch.arange(n) % ref.run.data_info.num_classes if trained.conditional else None
    with quiet_rng(1):
        x = trained.sample(n, labels, generator=seeded(0)).cpu()
    with quiet_rng(2):
        again = trained.sample(n, labels, generator=seeded(0)).cpu()
        y = back.sample(n, labels, generator=seeded(0)).cpu()
    if not torch.equal(x, again):
        raise ConformanceError(f"the trained model's sample(generator=seed 0) changes with torch's "
                               f"global RNG (max |diff| {max_diff(x, again):.3g}), so save -> load cannot be "
                               f"compared. {RANDOMNESS_FIX}")
    if x.shape != y.shape or not torch.equal(x, y):
        diff = max_diff(x, y) if x.shape == y.shape else float("nan")
        raise ConformanceError(f"after save -> load, sample(generator=seed 0) differs from the trained "
                               f"model's (max |diff| {diff:.3g}). {STATE_FIX}")


def folder_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def check_sample_options_change_nothing_saved(subject: Subject, kind: str) -> None:
    """Sample-time options round-trip through config.json and changing them writes nothing."""
    import genforge

    ref = reference_run(subject, kind)
    before = folder_digest(ref.out)
    loaded = genforge.load(ref.out, device="cpu", plugins=subject.plugins)
    options = loaded.sampler_options
    saved = SavedRun.open(ref.out).config.get("sampler")
    if options is None:
        if saved is not None:
            raise ConformanceError("config.json records [sampler] options, but the model registered "
                                   "none. Fix: register(..., sampler=OptionsClass)")
        return
    if saved != options.model_dump(mode="json"):
        raise ConformanceError(f"config.json records sampler options {saved}, loaded as "
                               f"{options.model_dump(mode='json')}. Fix: use JSON-compatible fields")
    steps = getattr(options, "steps", None)
    changes = {"steps": max(1, steps // 2)} if isinstance(steps, int) and steps > 1 else {}
    loaded.sample(2, seed=0, **changes)
    loaded.set_sampler_options(**changes)
    loaded.sample(2, seed=0)
    if folder_digest(ref.out) != before:
        raise ConformanceError("sampling with changed sample-time options wrote to the run folder. "
                               "Fix: keep sample-time options out of the model's state and files")


def check_no_pickle(subject: Subject, kind: str) -> None:
    """Training, saving and loading use no pickle, and the run folder holds none."""
    ref = reference_run(subject, kind)
    fix = ("Fix: genforge checkpoints hold safetensors and JSON only; keep state in the model's "
           "state_dict (registered buffers) and let genforge save it")
    if ref.pickle_files:
        files = ", ".join(str(p) for p in ref.pickle_files)
        who = f" (written by {ref.pickle_calls[0]})" if ref.pickle_calls else ""
        raise ConformanceError(f"pickle-based save: the run folder holds pickle files: {files}{who}. "
                               f"{fix}")
    if ref.pickle_calls:
        raise ConformanceError(f"pickle-based save: training and checkpointing called "
                               f"{ref.pickle_calls[0]}. {fix}")
    with record_pickle_calls() as calls:
        _load(subject, kind)
    if calls:
        raise ConformanceError(f"pickle-based load: genforge.load called {calls[0]}. {fix}")


def check_resume(subject: Subject, kind: str) -> None:
    """Stopping at step 2 and resuming to step 4 matches an uninterrupted 4-step run exactly."""
    ref = reference_run(subject, kind)
    half = train(subject, kind, STEPS // 2)
    resumed = train(subject, kind, STEPS, out=half.out, resume=True)
    name = step_dir_name(STEPS)
    a = SavedRun.open(ref.out / CHECKPOINTS / name).weights()
    b = SavedRun.open(resumed.out / CHECKPOINTS / name).weights()
    changed = [k for k in a if k not in b or not torch.equal(a[k], b[k])]
    fix = ("Fix: keep all training state (step counters, schedules) in registered buffers or the "
           "optimizers, and draw training noise from torch's global RNG; genforge saves all three")
    if changed:
        k = changed[0]
        diff = f" (max |diff| {max_diff(a[k], b[k]):.3g})" if k in b and a[k].shape == b[k].shape else ""
        raise ConformanceError(f"resume is not exact: weights at step {STEPS} after resuming from "
                               f"step {STEPS // 2} differ from an uninterrupted run in {changed[:5]}"
                               f"{diff}. {fix}")
    if ref.run.metrics != resumed.run.metrics:
        raise ConformanceError(f"resume is not exact: step-{STEPS} losses {resumed.run.metrics} after "
                               f"resuming differ from an uninterrupted run's {ref.run.metrics}. {fix}")
