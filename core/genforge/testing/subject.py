"""What the kit checks: a registered model (``Subject``, with its tiny config and data) or data source."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel

from genforge.config import validate_section
from genforge.entries import DataSourceEntry, Entry, ModelEntry
from genforge.errors import GenforgeError, PluginError
from genforge.plugins import Plugins, default_plugins
from genforge.registrars import REGISTRARS
from genforge.testing.results import ConformanceError

if TYPE_CHECKING:
    import torch

    from genforge.data.base import Data, TensorData
    from genforge.model import GenerativeModel

E = TypeVar("E", bound=Entry[object], covariant=True)

#: The two kinds of data every family must handle, as sections of a run config.
DATA_SECTIONS: dict[str, dict[str, object]] = {
    "image": {"name": "digits", "size": 8},
    "vector": {"name": "toy2d", "n_train": 256, "n_test": 64},
}
DATA_KINDS = tuple(DATA_SECTIONS)


def broken_plugins(plugins: Plugins) -> list[str]:
    """One line per plugin that failed to load: ``name (dist version): error``."""
    return [f"plugin {r.name!r} ({r.label}): {r.error}" for r in plugins.records if r.error]


@functools.cache
def _load_data(kind: str, plugins: Plugins) -> Data:
    section = dict(DATA_SECTIONS[kind])
    entry = plugins.get("data_sources", str(section.pop("name")))
    assert isinstance(entry, DataSourceEntry)
    from genforge.data.checks import run_source

    return run_source(entry, validate_section(entry.config_cls, section, "data"))


@dataclass
class Registered(Generic[E]):
    """A registered name under test and the plugins that registered it."""

    registry: ClassVar[str] = "models"
    entry_type: ClassVar[type[Entry[object]]] = ModelEntry
    name: str
    plugins: Plugins = field(default_factory=default_plugins)

    def __str__(self) -> str:
        return self.name

    @property
    def entry(self) -> E:
        """The registry entry, or a ``ConformanceError`` saying why the name is missing."""
        try:
            entry = self.plugins.get(self.registry, self.name)
        except PluginError as e:
            if self.plugins.registrants(self.registry, self.name):  # registered more than once
                raise ConformanceError(f"{e}. Fix: rename it (prefix it with your project's name), "
                                       "or check it as DIST:NAME") from None
            entry = None
        if isinstance(entry, self.entry_type):
            return cast(E, entry)
        kind = self.registry[:-1].replace("_", " ")
        lines = [f"{kind} {self.name!r} is not registered"]
        lines += broken_plugins(self.plugins)
        known = ", ".join(self.plugins.names(self.registry)) or "none"
        lines.append(f"registered {kind}s: {known}. Fix: register it in the plugin's "
                     f"{REGISTRARS[self.registry].hook} hook, and make the plugin load")
        raise ConformanceError("; ".join(lines))


@dataclass
class Subject(Registered[ModelEntry]):
    """A model name, the plugins that registered it, and kit-level config overrides.

    The tiny config is the config class's defaults, then the ``tiny`` dict the plugin
    registered with the model (``register(..., tiny={...})``), then ``overrides``.
    """

    overrides: dict[str, object] = field(default_factory=dict)

    @property
    def conditional(self) -> bool:
        """Whether the model was registered as label-conditioned."""
        return self.entry.conditional

    def model_class(self) -> type[GenerativeModel]:
        """The registered model class (imports the model's module, and so torch)."""
        try:
            return self.entry.load()
        except GenforgeError as e:
            raise ConformanceError(f"{e}. Fix: the registered target must be an importable "
                                   "'module:Class' string or the class itself") from None

    def tiny(self) -> dict[str, object]:
        """The model-section options the kit builds with (registered ``tiny`` + overrides)."""
        return {**copy.deepcopy(dict(self.entry.tiny)), **copy.deepcopy(self.overrides)}

    def config(self) -> BaseModel:
        """The validated tiny config."""
        try:
            return validate_section(self.entry.config_cls, self.tiny(), "model")
        except GenforgeError as e:
            raise ConformanceError(f"the tiny config does not validate: {e}. Fix: give every "
                                   "config field a default and make the registered tiny "
                                   "options valid") from None

    def data(self, kind: str) -> Data:
        """The kit's tiny ``genforge.Data`` of one kind (digits 8x8 or toy2d), cached."""
        return _load_data(kind, self.plugins)

    def build(self, kind: str) -> GenerativeModel:
        """A fresh model for ``kind`` data (``ConformanceError`` if it cannot be built)."""
        from genforge.model import GenerativeModel

        info = self.data(kind).info
        cls, cfg = self.model_class(), self.config()
        try:
            model = cls(cfg, info)
        except Exception as e:
            raise ConformanceError(
                f"{cls.__name__}(config, data_info) failed for {kind} data of shape "
                f"{tuple(info.shape)}: {type(e).__name__}: {e}. Fix: every family must build "
                f"from its config defaults (plus its registered tiny options) for image and "
                f"2-D vector data") from None
        if not isinstance(model, GenerativeModel):
            raise ConformanceError(f"{cls.__name__} is not a genforge.GenerativeModel. Fix: "
                                   "subclass genforge.GenerativeModel")
        return model

    def tensors(self, kind: str, split: str = "train") -> TensorData:
        """One split of the kit's ``kind`` data (the built-in sources hold it as ``TensorData``)."""
        from genforge.data.base import TensorData

        data = self.data(kind)
        tensors = data.train if split == "train" else data.test
        assert isinstance(tensors, TensorData)
        return tensors

    def batch(self, kind: str, n: int = 16) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The first ``n`` training examples of ``kind`` data and their labels."""
        train = self.tensors(kind)
        return train.x[:n].clone(), (train.y[:n].clone() if train.y is not None else None)

    def run_config(self, kind: str, out: str, steps: int) -> dict[str, object]:
        """A tiny run config (CPU, batch 16, a checkpoint every 2 steps, no progress bar).

        The learning rate stays constant: a decayed rate's horizon is ``trainer.steps``, which
        the resume check changes between its two legs.
        """
        return {
            "seed": 0, "out": out, "model": {"name": self.name, **self.tiny()},
            "data": dict(DATA_SECTIONS[kind]),
            "trainer": {"steps": steps, "batch_size": 16, "device": "cpu", "checkpoint_every": 2,
                        "log_every": 1, "sample_every": 0, "grid_samples": 4, "progress": False,
                        "keep_checkpoints": 5, "lr_decay": "none"},
        }


@dataclass
class DataSubject(Registered[DataSourceEntry]):
    """A data source name, the plugins that registered it, and the ``[data]`` options to check it with."""

    registry: ClassVar[str] = "data_sources"
    entry_type: ClassVar[type[Entry[object]]] = DataSourceEntry
    options: dict[str, object] = field(default_factory=dict)

    def config(self) -> BaseModel:
        """The validated ``[data]`` config: the config class's defaults, then ``options``."""
        try:
            return validate_section(self.entry.config_cls, copy.deepcopy(self.options), "data")
        except GenforgeError as e:
            raise ConformanceError(f"the data config does not validate: {e}. Fix: give every "
                                   "config field a default, or pass the kit options for it") from None

    def run(self) -> object:
        """Run the source on ``config()`` without checking what it returns (a ``genforge.Data``)."""
        return self.entry.load()(self.config())
