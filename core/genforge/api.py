"""The Python API for apps that embed genforge: ``train`` and ``load``.

The command line is a thin layer over these two functions. Neither keeps global
state, so two runs or two loaded models can live in one process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from genforge.build import build_model, select_device
from genforge.checkpoint import UNRECORDED, SavedRun
from genforge.config import ResolvedConfig, RunConfig, build_raw, merge_under, resolve
from genforge.data.info import DataInfo
from genforge.errors import CheckpointError
from genforge.model import GenerativeModel
from genforge.noise import DeviceStreams
from genforge.plugins import Plugins, canonical, default_plugins, qualified, split_name
from genforge.sample_options import checked_for, with_changes
from genforge.sampling import StepNoise
from genforge.trainer import TrainingRun
from genforge.trainer import train as _train
from genforge.weights import check_before_build, load_weights
from genforge_runtime.noise import NoiseStreams


def train(
    config: str | Path | dict[str, Any] | RunConfig | ResolvedConfig,
    *,
    resume: bool = False,
    plugins: Plugins | None = None,
    **flags: Any,
) -> TrainingRun:
    """Train from a TOML path, a dict or a config object; return the finished run.

    ``flags`` are the command line's: ``model``, ``data``, ``steps``, ``out``,
    ``device`` and ``overrides`` (a list of ``"section.key=value"`` strings).
    The returned run has ``.checkpoint`` (the final checkpoint folder),
    ``.metrics`` (the last step's losses) and ``.model``.
    """
    plugins = plugins or default_plugins()
    if isinstance(config, ResolvedConfig):
        resolved = config
    else:
        if isinstance(config, RunConfig):
            config = config.model_dump()
        raw = build_raw(config, **flags)
        if resume:
            raw = resume_config(raw, plugins)
        resolved = resolve(raw, plugins, defaults=not resume)
    return _train(resolved, plugins=plugins, resume=resume)


def resume_config(raw: dict[str, Any], plugins: Plugins) -> dict[str, Any]:
    """The config a resumed run continues with: the checkpoint's, under the user's values."""
    out = raw.get("out")
    if not out:
        raise CheckpointError("--resume needs the run folder (--out RUN_DIR or out = ... in the config)")
    saved = saved_config(SavedRun.open(out), plugins)
    name, given = saved["model"]["name"], raw.get("model", {}).get("name")
    if given not in (None, name) and plugins.get("models", given) is not plugins.get("models", name):
        raise CheckpointError(f"{out}: holds a {name!r} run, not {given!r}")
    return merge_under(saved, raw)


def saved_config(saved: SavedRun, plugins: Plugins) -> dict[str, Any]:
    """A checkpoint's run config, its model named so that it selects the family that wrote it.

    A plain name that two distributions register becomes ``DIST:NAME`` of the recorded
    distribution. A checkpoint whose distribution is not installed (or no longer registers
    the name) is a ``CheckpointError`` naming it; one that recorded none is opened by name.
    """
    config = saved.config
    name = config["model"].get("name")
    if not isinstance(name, str):
        return config
    dist, bare = split_name(name)
    dist = dist or saved.meta.family
    if dist == UNRECORDED:
        return config
    if not plugins.registrants("models", f"{dist}:{bare}"):
        installed = next((r for r in plugins.records if canonical(r.dist) == canonical(dist)), None)
        why, fix = (("which is not installed", f"install {dist} to open it") if installed is None else
                    (f"but the installed {installed.label} registers no model {bare!r}",
                     f"install the {dist} release that wrote it"))
        writer = saved.meta.written_by if canonical(saved.meta.family) == canonical(dist) else dist
        others = ", ".join(qualified(e) for e in plugins.registrants("models", bare))
        raise CheckpointError(f"{saved.path}: written by model {bare!r} of {writer}, {why}"
                              + (f" (installed: {others})" if others else "") + f"; {fix}")
    if name == bare and len(plugins.registrants("models", bare)) > 1:
        config = {**config, "model": {**config["model"], "name": f"{dist}:{bare}"}}
    return config


@dataclass
class LoadedModel:
    """A trained model ready to sample, with the config and data info it was trained with.

    ``saved`` is the checkpoint it was loaded from (None for a model still in training).
    """

    model: GenerativeModel
    config: ResolvedConfig
    info: DataInfo
    path: Path
    ema: bool = False
    saved: SavedRun | None = None

    @property
    def device(self) -> torch.device:
        """Where the model's weights live."""
        return self.model.device

    @property
    def sampler_options(self) -> BaseModel | None:
        """The sample-time options ``sample`` uses (the run's ``[sampler]``, unless changed)."""
        return self.model.sampler_options

    def set_sampler_options(self, **changes: Any) -> None:
        """Change the sample-time options of later calls (validated; the checkpoint is untouched)."""
        self.model.sampler_options = checked_for(self.model, with_changes(
            self.model.sampler_options, changes, self.config.run.model.name))

    def sample(
        self, n: int, labels: Sequence[int] | int | torch.Tensor | None = None, seed: int | None = None,
        batch_size: int | None = None, **options: Any,
    ) -> torch.Tensor:
        """Draw ``n`` samples (a CPU tensor; images ``[N, C, H, W]`` in [0, 1]); a seed fixes them.

        ``options`` change sample-time options for this call (e.g. ``steps=20``).
        """
        return torch.cat(list(self.sample_batches(n, labels, seed, batch_size, **options)) or
                         [torch.empty(0, *self.info.shape)])

    def sample_batches(
        self, n: int, labels: Sequence[int] | int | torch.Tensor | None = None, seed: int | None = None,
        batch_size: int | None = None, **options: Any,
    ) -> Iterator[torch.Tensor]:
        """``sample`` as CPU float32 batches of at most ``batch_size`` rows (memory bounded by it)."""
        opts = checked_for(self.model, with_changes(self.model.sampler_options, options,
                                                    self.config.run.model.name))
        for batch in self.model.sample_batches(n, labels=labels, seed=seed, options=opts,
                                               batch_size=batch_size):
            yield batch.float().cpu()

    @torch.no_grad()
    def class_sweep(self, n_styles: int, seed: int | None = None) -> torch.Tensor:
        """``[n_styles * K, ...]``: row ``i`` renders one latent (and step noise) under each class."""
        if not self.model.conditional:
            raise ValueError("a class sweep needs a conditional model")
        k = self.info.num_classes
        streams = NoiseStreams(seed)
        z = DeviceStreams(streams, self.device).latents(n_styles, self.model.latent_dim)
        z = z.repeat_interleave(k, 0)
        labels = torch.arange(k, device=self.device).repeat(n_styles)
        noise = StepNoise(streams, n_styles, tuple(self.info.shape), self.device, repeat=k)
        self.model.eval()
        return self.model.generate_with(z, labels, noise, self.model.sampler_options).float().cpu()


def load(checkpoint: str | Path, device: str = "auto", plugins: Plugins | None = None,
         ema: bool = True) -> LoadedModel:
    """Load a run folder (its latest checkpoint) or a checkpoint folder, ready to sample.

    When the run kept an EMA of the weights, the averaged weights are used unless ``ema=False``.
    """
    plugins = plugins or default_plugins()
    saved = SavedRun.open(checkpoint)
    info = saved.meta.data_info
    resolved = resolve(saved_config(saved, plugins), plugins, strict=False, defaults=False)
    target = select_device(device)
    check_before_build(lambda: build_model(resolved, info), saved.weights_file)
    model = build_model(resolved, info)
    load_weights(model, saved.weights(), saved.path)
    averaged = saved.ema_weights() if ema else None
    if averaged is not None:
        load_weights(model, averaged, saved.path, strict=False)
    model.to(target).eval()
    return LoadedModel(model=model, config=resolved, info=info, path=saved.path,
                       ema=averaged is not None, saved=saved)
