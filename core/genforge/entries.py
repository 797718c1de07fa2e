"""What the registrars record: one typed entry per registered name, and the plugin behind it.

No torch here: the types a target resolves to are imported only for the type checker.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel

from genforge.errors import PluginError

if TYPE_CHECKING:
    from os import PathLike  # noqa: F401 - these three name base classes' type arguments

    from genforge.api import LoadedModel
    from genforge.data.base import Data  # noqa: F401
    from genforge.metrics.context import EvalContext
    from genforge.model import GenerativeModel  # noqa: F401

T = TypeVar("T", covariant=True)


class Exporter(Protocol):
    """What an exporter is: ``genforge export --format NAME`` calls its ``export``."""

    def export(self, loaded: LoadedModel, path: Path, options: Mapping[str, object]) -> Path:
        """Write ``loaded`` to ``path``; ``options`` holds the ``genforge export`` flags."""
        ...


#: A metric: scores generated samples against real data.
Metric = Callable[["EvalContext"], Mapping[str, float]]
#: Whether a metric belongs in ``genforge eval``'s default set for this model and data.
Applies = Callable[["EvalContext"], bool]


@dataclass
class PluginRecord:
    """One loaded (or failed) plugin as ``genforge plugins`` lists it."""

    name: str
    dist: str
    version: str
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)
    #: one of genforge's own plugins (``BUILTIN_PLUGINS``), listed by ``genforge plugins --all``
    builtin: bool = False

    @property
    def label(self) -> str:
        """``dist version`` for messages."""
        return f"{self.dist} {self.version}".strip()


@dataclass(frozen=True, kw_only=True)
class Entry(Generic[T]):
    """A registered name: what it resolves to (``target``), who registered it, its summary."""

    kind: ClassVar[str] = "entry"
    name: str
    target: T | str
    plugin: PluginRecord
    summary: str = ""

    def load(self) -> T:
        """Return the registered object, importing a ``"module:attr"`` string target."""
        if not isinstance(self.target, str):
            return self.target
        return cast(T, self._resolve(self.target))  # the plugin's promise: the string names a T

    def _resolve(self, target: str) -> object:
        """Import what a ``"module:attr"`` string names (a ``PluginError`` naming this entry if it cannot)."""
        module, _, attr = target.partition(":")
        try:
            obj: object = importlib.import_module(module)
            for part in attr.split(".") if attr else []:
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as e:
            raise PluginError(f"{self.kind} {self.name!r} from {self.plugin.label}: cannot import "
                              f"{target!r}: {e}") from e
        return obj

    @property
    def options(self) -> Mapping[str, object]:
        """The kind's keyword options by name, read-only (``entry.options["conditional"]``)."""
        base = {"name", "target", "plugin", "summary", "config_cls"}
        return MappingProxyType({f.name: getattr(self, f.name) for f in fields(self)
                                 if f.name not in base})


@dataclass(frozen=True, kw_only=True)
class ModelEntry(Entry["type[GenerativeModel]"]):
    """A model family: its class, ``[model]`` config class and what it suggests."""

    kind: ClassVar[str] = "model"
    config_cls: type[BaseModel]
    conditional: bool
    defaults: Mapping[str, object] = field(default_factory=dict)
    tiny: Mapping[str, object] = field(default_factory=dict)
    sampler: type[BaseModel] | None = None


@dataclass(frozen=True, kw_only=True)
class DataSourceEntry(Entry["Callable[..., Data]"]):
    """A data source: ``source(config) -> genforge.Data``, its ``[data]`` config class and the
    Hub dataset id of the data it gives (empty when it has none)."""

    kind: ClassVar[str] = "data source"
    config_cls: type[BaseModel]
    hub_dataset: str = ""


@dataclass(frozen=True, kw_only=True)
class ExporterEntry(Entry[Exporter]):
    """An exporter: an object with ``export(loaded, path, options) -> Path``."""

    kind: ClassVar[str] = "exporter"


@dataclass(frozen=True, kw_only=True)
class MetricEntry(Entry[Metric]):
    """A metric: ``metric(ctx) -> dict[str, float]``, when it applies, and whether it has a floor."""

    kind: ClassVar[str] = "metric"
    applies: Applies | str | None = None
    floor: bool = True

    def applies_to(self, ctx: EvalContext) -> bool:
        """Whether the metric joins ``genforge eval``'s default set for ``ctx`` (not without ``applies``)."""
        if self.applies is None:
            return False
        check = cast(Applies, self._resolve(self.applies)) if isinstance(self.applies, str) else self.applies
        return bool(check(ctx))


@dataclass(frozen=True, kw_only=True)
class FeatureExtractorEntry(Entry["PathLike[str] | str | Callable[[], object]"]):
    """A data source's feature extractor: a file, or a callable returning a file or extractor."""

    kind: ClassVar[str] = "feature extractor"
