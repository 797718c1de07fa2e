"""The plugin manager: loads plugins and keeps the name registries they fill.

Each entry point of the ``genforge`` group loads inside its own error handling:
a broken plugin is recorded (``genforge plugins`` shows it) and skipped, unless
``GENFORGE_STRICT_PLUGINS=1``. ``GENFORGE_LOAD_PLUGINS=a,b`` loads only those
entry points (by entry-point or distribution name); the built-in plugins always load.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Literal, overload

import pluggy

from genforge import hookspecs
from genforge.entries import (
    DataSourceEntry,
    Entry,
    ExporterEntry,
    FeatureExtractorEntry,
    MetricEntry,
    ModelEntry,
    PluginRecord,
)
from genforge.errors import PluginError, shown
from genforge.registrars import REGISTRARS

__all__ = ["GROUP", "Plugins", "PluginRecord", "default_plugins"]

GROUP = "genforge"
#: Hooks run last-registered first: a step's metrics line is written before its sample grid.
BUILTIN_PLUGINS = (
    "genforge.builtins.data_sources",
    "genforge.builtins.metrics",
    "genforge.builtins.sample_grids",
    "genforge.builtins.metrics_log",
    "genforge.builtins.progress_bar",
    "genforge.builtins.eval_during_training",
    "genforge.builtins.tensorboard",
    "genforge.builtins.model_card",
)


def _label(kind: str) -> str:
    return kind[:-1].replace("_", " ")


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _given(obj: object) -> Callable[[], object]:
    """A loader that returns an already-loaded plugin object."""
    return lambda: obj


def _trace(call: str, seconds: float) -> None:
    print(f"genforge trace: {call} {seconds * 1000:.3f} ms", file=sys.stderr, flush=True)


def _monitor() -> tuple[Callable[[str, Sequence[pluggy.HookImpl], Mapping[str, object]], None],
                        Callable[[pluggy.Result[object], str, Sequence[pluggy.HookImpl],
                                  Mapping[str, object]], None]]:
    """pluggy's before/after hook-call monitors printing each call and its duration to stderr."""
    started: list[float] = []

    def before(hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]) -> None:
        started.append(time.perf_counter())

    def after(outcome: pluggy.Result[object], hook_name: str, hook_impls: Sequence[pluggy.HookImpl],
              kwargs: Mapping[str, object]) -> None:
        names = ", ".join(impl.plugin_name for impl in hook_impls)
        _trace(f"{hook_name} [{names}]", time.perf_counter() - started.pop())

    return before, after


class Plugins:
    """A plugin manager with its registries; build one per process or per test."""

    def __init__(
        self,
        eps: list[EntryPoint] | None = None,
        extra: list[ModuleType | object] | None = None,
        strict: bool | None = None,
        load: list[str] | None = None,
    ) -> None:
        self.strict = _env_flag("GENFORGE_STRICT_PLUGINS") if strict is None else strict
        self.trace = _env_flag("GENFORGE_TRACE_PLUGINS")
        if load is None and "GENFORGE_LOAD_PLUGINS" in os.environ:
            load = [s.strip() for s in os.environ["GENFORGE_LOAD_PLUGINS"].split(",") if s.strip()]
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        if self.trace:
            self.pm.add_hookcall_monitoring(*_monitor())
        self.records: list[PluginRecord] = []
        self._registries: dict[str, dict[str, Entry[object]]] | None = None
        self._conflicts: list[str] = []
        from genforge import __version__

        for modname in BUILTIN_PLUGINS:
            self._add(functools.partial(importlib.import_module, modname), modname, "genforge", __version__,
                      builtin=True)
        for ep in entry_points(group=GROUP) if eps is None else eps:
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else ""
            if load is not None and ep.name not in load and dist not in load:
                continue
            self._add(ep.load, ep.name, dist, version)
        for obj in extra or []:
            name = getattr(obj, "__name__", type(obj).__name__)
            self._add(_given(obj), name, name, "")

    @property
    def hook(self) -> pluggy.HookRelay:
        """The pluggy hook relay (``plugins.hook.genforge_on_step_end(...)``)."""
        return self.pm.hook

    def _fail(self, record: PluginRecord, message: str, exc: BaseException | None = None) -> None:
        record.error = message
        if self.strict:
            raise PluginError(f"plugin {record.name!r} ({record.label}): {message}") from exc

    def _add(self, loader: Callable[[], object], name: str, dist: str, version: str,
             builtin: bool = False) -> None:
        record = PluginRecord(name=name, dist=dist, version=version, builtin=builtin)
        self.records.append(record)
        try:
            plugin = loader()
        except Exception as e:  # a broken plugin must not take the host down
            self._fail(record, f"failed to load: {type(e).__name__}: {e}", e)
            return
        try:
            self.pm.register(plugin, name=name)
        except Exception as e:
            self._fail(record, f"invalid hook: {e}", e)
            return
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as e:
            specs = {n for n, caller in vars(self.pm.hook).items() if caller.spec is not None}
            bad = [c.name for c in self.pm.get_hookcallers(plugin) or [] if c.name not in specs]
            self.pm.unregister(plugin)
            known = sorted(specs)
            detail = ", ".join(f"{n!r}{_suggest(n, known)}" for n in bad) or str(e)
            self._fail(record, f"unknown hook {detail}", e)
            return
        record.hooks = sorted(hc.name for hc in self.pm.get_hookcallers(plugin) or [])

    def _record_for(self, plugin_name: str) -> PluginRecord:
        return next(r for r in self.records if r.name == plugin_name)

    def _build(self) -> dict[str, dict[str, Entry[object]]]:
        registries: dict[str, dict[str, Entry[object]]] = {}
        for kind, registrar_cls in REGISTRARS.items():
            hook_name = registrar_cls.hook
            table: dict[str, Entry[object]] = {}
            registries[kind] = table
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                record = self._record_for(impl.plugin_name)
                registrar = registrar_cls(record)
                began = time.perf_counter()
                try:
                    impl.function(register=registrar)
                except PluginError as e:  # a registrar's own one-line message
                    self._fail(record, str(e), e)
                    continue
                except Exception as e:
                    self._fail(record, f"{hook_name} raised {type(e).__name__}: {e}", e)
                    continue
                finally:
                    if self.trace:
                        _trace(f"{hook_name} [{record.name}]", time.perf_counter() - began)
                for entry in registrar.entries:
                    if entry.name in table:
                        other = table[entry.name].plugin.label
                        msg = (f"{entry.kind} name {entry.name!r} is registered by both {other} "
                               f"and {record.label}; uninstall one or limit GENFORGE_LOAD_PLUGINS")
                        self._conflicts.append(msg)
                        continue
                    table[entry.name] = entry
                    record.registered.setdefault(kind, []).append(entry.name)
        return registries

    @property
    def registries(self) -> dict[str, dict[str, Entry[object]]]:
        """All registries by kind (``models``, ``data_sources``, ``metrics``, ...)."""
        if self._registries is None:
            self._registries = self._build()
        return self._registries

    @property
    def conflicts(self) -> list[str]:
        """Messages for names that two plugins both registered (the later one is dropped)."""
        self.registries  # noqa: B018 - building the registries finds the conflicts
        return self._conflicts

    @overload
    def get(self, kind: Literal["models"], name: str) -> ModelEntry: ...
    @overload
    def get(self, kind: Literal["data_sources"], name: str) -> DataSourceEntry: ...
    @overload
    def get(self, kind: Literal["exporters"], name: str) -> ExporterEntry: ...
    @overload
    def get(self, kind: Literal["metrics"], name: str) -> MetricEntry: ...
    @overload
    def get(self, kind: Literal["feature_extractors"], name: str) -> FeatureExtractorEntry: ...
    @overload
    def get(self, kind: str, name: str) -> Entry[object]: ...

    def get(self, kind: str, name: str) -> Entry[object]:
        """Look up a registered name; a conflict or an unknown name is a ``PluginError``."""
        table = self.registries[kind]
        if self.conflicts:
            raise PluginError(self.conflicts[0])
        if name not in table:
            known = ", ".join(sorted(table)) or "none installed"
            broken = [f"plugin {r.name!r} ({r.label}) failed: {r.error}" for r in self.records if r.error]
            raise PluginError(f"unknown {_label(kind)} {shown(name)}{_suggest(name, list(table))}; "
                              f"available: {known}" + "".join(f"; {b}" for b in broken[:1]))
        return table[name]

    def names(self, kind: str) -> list[str]:
        """Sorted names registered in one registry."""
        return sorted(self.registries[kind])


@functools.cache
def default_plugins() -> Plugins:
    """The process-wide plugin manager over installed entry points (built once, read-only)."""
    return Plugins()
