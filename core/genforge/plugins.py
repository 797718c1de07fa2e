"""The plugin manager: loads plugins and keeps the name registries they fill.

Each entry point of the ``genforge`` group loads inside its own error handling:
a broken plugin is recorded (``genforge plugins`` shows it) and skipped, unless
``GENFORGE_STRICT_PLUGINS=1``. ``GENFORGE_LOAD_PLUGINS=a,b`` loads only those
entry points (by entry-point or distribution name); the built-in plugins always load.

A name that two distributions register is a clash: looking up that name fails in one
line naming both, and ``DIST:NAME`` (``genforge-diffusion:ddpm``) chooses one; every
other name works as usual. ``DIST:NAME`` selects a name whether or not it clashes.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import re
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

__all__ = ["GROUP", "Plugins", "PluginRecord", "canonical", "default_plugins", "qualified", "split_name"]

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
        self._entries: dict[str, dict[str, list[Entry[object]]]] | None = None
        self._unique: dict[str, dict[str, Entry[object]]] | None = None
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

    def _build(self) -> dict[str, dict[str, list[Entry[object]]]]:
        """Every registered entry by kind and name (a clashing name holds several)."""
        tables: dict[str, dict[str, list[Entry[object]]]] = {}
        for kind, registrar_cls in REGISTRARS.items():
            hook_name = registrar_cls.hook
            table: dict[str, list[Entry[object]]] = {}
            tables[kind] = table
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
                    table.setdefault(entry.name, []).append(entry)
                    record.registered.setdefault(kind, []).append(entry.name)
        self._conflicts = [_clash(kind, name, found) for kind, table in tables.items()
                           for name, found in table.items() if len(found) > 1]
        return tables

    @property
    def _tables(self) -> dict[str, dict[str, list[Entry[object]]]]:
        if self._entries is None:
            self._entries = self._build()
        return self._entries

    @property
    def registries(self) -> dict[str, dict[str, Entry[object]]]:
        """The names registered once, by kind (``models``, ...); a clashing name is not among them."""
        if self._unique is None:
            self._unique = {kind: {name: found[0] for name, found in table.items() if len(found) == 1}
                            for kind, table in self._tables.items()}
        return self._unique

    @property
    def conflicts(self) -> list[str]:
        """One message per name that several plugins registered (lookups of that name fail)."""
        self._tables  # noqa: B018 - building the registries finds the conflicts
        return self._conflicts

    def registrants(self, kind: str, name: str) -> list[Entry[object]]:
        """The entries a plain ``NAME`` or a ``DIST:NAME`` matches (several for a clashing name)."""
        dist, bare = split_name(name)
        found = self._tables[kind].get(bare, [])
        return [e for e in found if canonical(e.plugin.dist) == canonical(dist)] if dist else list(found)

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
        """Look up ``NAME`` or ``DIST:NAME``; an unknown or clashing name is a ``PluginError``."""
        found = self.registrants(kind, name)
        if len(found) == 1:
            return found[0]
        dist, bare = split_name(name)
        if found:
            raise PluginError(_clash(kind, bare, found))
        others = self.registrants(kind, bare) if dist else []
        if others:
            forms = ", ".join(qualified(e) for e in others)
            raise PluginError(f"unknown {_label(kind)} {name!r}: no installed distribution {dist!r} "
                              f"registers it; {bare!r} is registered as {forms}")
        known = self.names(kind)
        broken = [f"plugin {r.name!r} ({r.label}) failed: {r.error}" for r in self.records if r.error]
        raise PluginError(f"unknown {_label(kind)} {shown(name)}{_suggest(name, known)}; "
                          f"available: {', '.join(known) or 'none installed'}"
                          + "".join(f"; {b}" for b in broken[:1]))

    def names(self, kind: str) -> list[str]:
        """The names to look up, sorted: each name registered once, ``DIST:NAME`` for a clashing one."""
        return sorted(name for name, _ in self.listing(kind))

    def listing(self, kind: str) -> list[tuple[str, Entry[object]]]:
        """Every entry of one kind under the name that selects it (``DIST:NAME`` when it clashes)."""
        return sorted(((name if len(found) == 1 else qualified(e), e)
                       for name, found in self._tables[kind].items() for e in found),
                      key=lambda pair: pair[0])


def canonical(dist: str) -> str:
    """A distribution name as pip compares them: case and runs of ``-``, ``_``, ``.`` do not count."""
    return re.sub(r"[-_.]+", "-", dist).lower()


def split_name(name: str) -> tuple[str, str]:
    """``("DIST", "NAME")`` for ``DIST:NAME``; ``("", NAME)`` for a plain name."""
    dist, sep, bare = name.partition(":")
    return (dist, bare) if sep else ("", name)


def qualified(entry: Entry[object]) -> str:
    """``DIST:NAME``: the name that selects ``entry`` whatever else registers its name."""
    return f"{entry.plugin.dist}:{entry.name}"


def _clash(kind: str, name: str, found: Sequence[Entry[object]]) -> str:
    """The one-line message for a name registered more than once."""
    if len({canonical(e.plugin.dist) for e in found}) == len(found):
        who = [e.plugin.label for e in found]
        fix = "choose one as " + " or ".join(qualified(e) for e in found)
    else:  # one distribution registers it twice: its name cannot tell them apart
        who = [f"plugin {e.plugin.name!r} ({e.plugin.label})" for e in found]
        fix = "uninstall one or limit GENFORGE_LOAD_PLUGINS to one of them"
    both = " and ".join(who) if len(who) == 2 else ", ".join(who[:-1]) + f" and {who[-1]}"
    return f"{_label(kind)} name {name!r} is registered by {'both ' if len(who) == 2 else ''}{both}; {fix}"


@functools.cache
def default_plugins() -> Plugins:
    """The process-wide plugin manager over installed entry points (built once, read-only)."""
    return Plugins()
