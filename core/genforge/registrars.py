"""The registrars: what each registration hook receives as ``register`` (or ``cli``).

One registrar per kind, each with an explicit signature (docs/plugins/hooks.md shows
them). A call is checked at once: a wrong argument is a ``PluginError`` of one line
that gives the expected signature. The untyped call form of genforge 0.1
(``register(name, target, config_cls=None, summary="", **options)``) still works
where it differs, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from os import PathLike
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from pydantic import BaseModel

from genforge.entries import (
    Applies,
    DataSourceEntry,
    Entry,
    Exporter,
    ExporterEntry,
    FeatureExtractorEntry,
    Metric,
    MetricEntry,
    ModelEntry,
    PluginRecord,
)
from genforge.errors import PluginError
from genforge.hub import DATASET_ID

if TYPE_CHECKING:
    from genforge.data.base import Data
    from genforge.model import GenerativeModel

E = TypeVar("E", bound=Entry[object])
R = TypeVar("R", bound="Registrar[Any]")
P = ParamSpec("P")

#: Run-config sections a model family may suggest in ``defaults`` (and per data source).
DEFAULT_SECTIONS = ("data", "model", "trainer", "sampler")

#: The 0.1 call form every registration hook shared.
_LEGACY = inspect.Signature([
    inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    inspect.Parameter("target", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    inspect.Parameter("config_cls", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
    inspect.Parameter("summary", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=""),
    inspect.Parameter("options", inspect.Parameter.VAR_KEYWORD),
])


def signature_text(method: Callable[..., object], name: str = "register") -> str:
    """``register(name: str, ...)``: a method's signature as the docs show it (no ``self``)."""
    parts, star = [], False
    for p in inspect.signature(method).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = ("**" if p.kind is p.VAR_KEYWORD else "") + p.name
        if p.annotation is not p.empty:
            text += f": {p.annotation}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    return f"{name}({', '.join(parts)})"


def _checked(method: Callable[Concatenate[R, P], None]) -> Callable[Concatenate[R, P], None]:
    """Bind a registrar call to its signature first; fall back to the 0.1 form, or fail in one line."""
    sig = inspect.signature(method)

    @functools.wraps(method)
    def call(self: R, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            sig.bind(self, *args, **kwargs)
        except TypeError as e:
            new_args, new_kwargs = self.from_legacy(args, kwargs, e)
            return method(self, *new_args, **new_kwargs)  # type: ignore[arg-type]
        return method(self, *args, **kwargs)

    return call


class Registrar(Generic[E]):
    """Collects one plugin's entries of one kind; the hook calls it once per name."""

    hook = ""

    def __init__(self, plugin: PluginRecord) -> None:
        self.plugin = plugin
        self.entries: list[E] = []

    @property
    def usage(self) -> str:
        """The expected call, for messages."""
        return signature_text(type(self).__call__)

    def fail(self, problem: str, fix: str = "") -> PluginError:
        """A one-line error naming the plugin, the problem and the fix."""
        fix = fix or f"call {self.usage}"
        return PluginError(f"{self.hook}: {problem}. Fix: {fix}")

    def from_legacy(self, args: tuple[object, ...], kwargs: dict[str, object],
                    error: TypeError) -> tuple[tuple[object, ...], dict[str, object]]:
        """Map a 0.1-form call onto this registrar's parameters, or raise its ``TypeError`` as one line."""
        try:
            old = _LEGACY.bind(*args, **kwargs).arguments
        except TypeError:
            raise self._bad_call(error, kwargs) from None
        options = dict(old.pop("options", {}))
        mapped = self._map_legacy(old)
        new_kwargs = {**mapped, **options}
        try:
            inspect.signature(type(self).__call__).bind(self, **new_kwargs)
        except TypeError:
            raise self._bad_call(error, kwargs) from None
        warnings.warn(f"plugin {self.plugin.name!r} ({self.plugin.label}): {self.hook} called "
                      f"register in genforge 0.1's form; call {self.usage}",
                      DeprecationWarning, stacklevel=3)
        return (), new_kwargs

    def _map_legacy(self, old: dict[str, object]) -> dict[str, object]:
        """The 0.1 arguments (``name``, ``target``, ``config_cls``, ``summary``) by new name."""
        first, second = self._names()
        out = {first: old["name"], second: old["target"]}
        if old.get("config_cls") is not None:
            out["config_cls"] = old["config_cls"]
        if "summary" in old:
            out["summary"] = old["summary"]
        return out

    def _names(self) -> tuple[str, str]:
        params = [p for p in inspect.signature(type(self).__call__).parameters if p != "self"]
        return params[0], params[1]

    def _bad_call(self, error: TypeError, kwargs: Mapping[str, object]) -> PluginError:
        known = [p for p in inspect.signature(type(self).__call__).parameters if p != "self"]
        unknown = [k for k in kwargs if k not in known]
        if not unknown:
            return self.fail(f"register(): {error}")
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return self.fail(f"register(): got an unexpected keyword argument {unknown[0]!r}{hint}")

    def add(self, entry: E) -> None:
        """Record one entry (the plugin manager files it under its name)."""
        if not isinstance(entry.name, str) or not entry.name:
            raise self.fail(f"name {entry.name!r} is not a non-empty string")
        if ":" in entry.name:
            raise self.fail(f"name {entry.name!r} holds ':', which separates a distribution from a "
                            "name (DIST:NAME)", "register the name without ':'")
        if not isinstance(entry.summary, str):
            raise self.fail(f"summary for {entry.name!r} is {type(entry.summary).__name__}, not str",
                            f"pass summary='one line for genforge plugins -v'; call {self.usage}")
        self.entries.append(entry)

    def _check_target(self, name: str, value: object, what: str) -> None:
        """Check that a target is an object or a ``"module:attr"`` string."""
        if value is None or (isinstance(value, str) and (not value or " " in value)):
            raise self.fail(f"{name!r}: {what} is {value!r}",
                            f"give the {what} itself or a 'module:attr' string")

    def _check_config(self, name: str, value: object, what: str = "config_cls") -> None:
        """Check that a config class is a pydantic model class."""
        if not (isinstance(value, type) and issubclass(value, BaseModel)):
            raise self.fail(f"{name!r}: {what} is {value!r}, not a pydantic BaseModel subclass",
                            f"pass a pydantic model class as {what}")


def _mapping(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) for k in value)


class ModelRegistrar(Registrar[ModelEntry]):
    """``register`` of ``genforge_register_models``."""

    hook = "genforge_register_models"

    @_checked
    def __call__(self, name: str, model_cls: type[GenerativeModel] | str, config_cls: type[BaseModel],
                 *, conditional: bool, summary: str = "",
                 defaults: Mapping[str, object] | None = None,
                 tiny: Mapping[str, object] | None = None,
                 sampler: type[BaseModel] | None = None) -> None:
        """Register a model family (see docs/plugins/hooks.md)."""
        self._check_target(name, model_cls, "model class")
        self._check_config(name, config_cls)
        if not isinstance(conditional, bool):
            raise self.fail(f"{name!r}: conditional is {conditional!r}",
                            "pass conditional=True or conditional=False")
        self._check_defaults(name, defaults or {})
        if not _mapping(tiny or {}):
            raise self.fail(f"{name!r}: tiny is {tiny!r}, not a dict of [model] options",
                            "pass tiny={'hidden': 16} or leave it out")
        if sampler is not None:
            self._check_config(name, sampler, "sampler")
        self.add(ModelEntry(name=name, target=model_cls, plugin=self.plugin, summary=summary,
                            config_cls=config_cls, conditional=conditional, defaults=defaults or {},
                            tiny=tiny or {}, sampler=sampler))

    def _check_defaults(self, name: str, defaults: object) -> None:
        """Check ``defaults``: run-config sections, and ``per_data`` sections by data source."""
        fix = ("pass defaults={'data': {...}, 'model': {...}, 'trainer': {...}, 'sampler': {...}, "
               "'per_data': {'SOURCE': {'model': {...}, 'trainer': {...}}}}")
        allowed = (*DEFAULT_SECTIONS, "per_data")
        if not _mapping(defaults):
            raise self.fail(f"{name!r}: defaults is {defaults!r}, not a dict", fix)
        assert isinstance(defaults, Mapping)
        per_data = defaults.get("per_data", {})
        sections = [(f"defaults[{k!r}]", v) for k, v in defaults.items() if k != "per_data"]
        unknown = sorted(set(defaults) - set(allowed))
        if _mapping(per_data):
            assert isinstance(per_data, Mapping)
            for source, value in per_data.items():
                if not _mapping(value):
                    raise self.fail(f"{name!r}: defaults['per_data'][{source!r}] is not a dict", fix)
                unknown += [f"per_data.{source}.{k}" for k in sorted(set(value) - set(DEFAULT_SECTIONS))]
                sections += [(f"defaults['per_data'][{source!r}][{k!r}]", v) for k, v in value.items()]
        else:
            raise self.fail(f"{name!r}: defaults['per_data'] is {per_data!r}, not a dict", fix)
        if unknown:
            raise self.fail(f"{name!r}: unknown defaults key {unknown[0]!r}; known: "
                            f"{', '.join(allowed)}", fix)
        for where, section in sections:
            if not _mapping(section):
                raise self.fail(f"{name!r}: {where} is {section!r}, not a dict of options", fix)


class DataSourceRegistrar(Registrar[DataSourceEntry]):
    """``register`` of ``genforge_register_data_sources``."""

    hook = "genforge_register_data_sources"

    @_checked
    def __call__(self, name: str, source: Callable[..., Data] | str, config_cls: type[BaseModel],
                 summary: str = "", *, hub_dataset: str = "") -> None:
        """Register a data source (see docs/plugins/hooks.md)."""
        self._check_target(name, source, "source")
        self._check_config(name, config_cls)
        if hub_dataset != "" and not (isinstance(hub_dataset, str) and DATASET_ID.fullmatch(hub_dataset)):
            raise self.fail(f"{name!r}: hub_dataset {hub_dataset!r} is not a Hub dataset id",
                            "give owner/name, such as ylecun/mnist, or leave it out")
        self.add(DataSourceEntry(name=name, target=source, plugin=self.plugin, summary=summary,
                                 config_cls=config_cls, hub_dataset=hub_dataset))


class ExporterRegistrar(Registrar[ExporterEntry]):
    """``register`` of ``genforge_register_exporters``."""

    hook = "genforge_register_exporters"

    @_checked
    def __call__(self, name: str, exporter: Exporter | str, summary: str = "") -> None:
        """Register an exporter (see docs/plugins/hooks.md)."""
        self._check_target(name, exporter, "exporter")
        if not isinstance(exporter, str) and not callable(getattr(exporter, "export", None)):
            raise self.fail(f"{name!r}: exporter {exporter!r} has no export method",
                            "give an object with export(loaded, path, options), or a 'module:attr' string")
        self.add(ExporterEntry(name=name, target=exporter, plugin=self.plugin, summary=summary))


class MetricRegistrar(Registrar[MetricEntry]):
    """``register`` of ``genforge_register_metrics``."""

    hook = "genforge_register_metrics"

    @_checked
    def __call__(self, name: str, metric: Metric | str, summary: str = "", *,
                 applies: Applies | str | None = None, floor: bool = True) -> None:
        """Register an evaluation metric (see docs/plugins/hooks.md)."""
        self._check_target(name, metric, "metric")
        if applies is not None:
            self._check_target(name, applies, "applies")
        if not isinstance(floor, bool):
            raise self.fail(f"{name!r}: floor is {floor!r}", "pass floor=True or floor=False")
        self.add(MetricEntry(name=name, target=metric, plugin=self.plugin, summary=summary,
                             applies=applies, floor=floor))


class FeatureExtractorRegistrar(Registrar[FeatureExtractorEntry]):
    """``register`` of ``genforge_register_feature_extractors``."""

    hook = "genforge_register_feature_extractors"

    @_checked
    def __call__(self, data_source: str, extractor: PathLike[str] | str | Callable[[], object],
                 summary: str = "") -> None:
        """Register a data source's feature extractor (see docs/plugins/hooks.md)."""
        self._check_target(data_source, extractor, "extractor")
        self.add(FeatureExtractorEntry(name=data_source, target=extractor, plugin=self.plugin,
                                       summary=summary))


class CommandRegistrar:
    """``cli`` of ``genforge_register_commands``: adds subcommands to the command line."""

    def __init__(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self._subparsers = subparsers

    def add_command(self, name: str, help: str = "", **kwargs: Any) -> argparse.ArgumentParser:
        """Add a subcommand; set its handler with ``parser.set_defaults(handler=fn)``."""
        return self._subparsers.add_parser(name, help=help, description=help, **kwargs)


#: The registrar class of each registry, by registry name.
REGISTRARS: dict[str, type[Registrar[Any]]] = {
    "models": ModelRegistrar,
    "data_sources": DataSourceRegistrar,
    "exporters": ExporterRegistrar,
    "metrics": MetricRegistrar,
    "feature_extractors": FeatureExtractorRegistrar,
}
