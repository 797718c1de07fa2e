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
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from genforge import hookspecs
from genforge.errors import PluginError

GROUP = "genforge"
#: Hooks run last-registered first: a step's metrics line is written before its sample grid.
BUILTIN_PLUGINS = (
    "genforge.builtins.data_sources",
    "genforge.builtins.metrics",
    "genforge.builtins.sample_grids",
    "genforge.builtins.metrics_log",
    "genforge.builtins.progress_bar",
    "genforge.builtins.eval_during_training",
)
REGISTRIES = {
    "models": "genforge_register_models",
    "data_sources": "genforge_register_data_sources",
    "exporters": "genforge_register_exporters",
    "metrics": "genforge_register_metrics",
    "feature_extractors": "genforge_register_feature_extractors",
}


@dataclass
class PluginRecord:
    """One loaded (or failed) plugin as ``genforge plugins`` lists it."""

    name: str
    dist: str
    version: str
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``dist version`` for messages."""
        return f"{self.dist} {self.version}".strip()


@dataclass
class Entry:
    """A registered name: a model family, data source, exporter or metric."""

    kind: str
    name: str
    target: Any
    plugin: PluginRecord
    config_cls: Any = None
    summary: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        """Return the registered object, importing a ``"module:attr"`` string target."""
        if not isinstance(self.target, str):
            return self.target
        module, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split(".") if attr else []:
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as e:
            raise PluginError(
                f"{self.kind} {self.name!r} from {self.plugin.label}: cannot import "
                f"{self.target!r}: {e}"
            ) from e
        return obj


def _label(kind: str) -> str:
    return kind[:-1].replace("_", " ")


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


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
        if load is None and "GENFORGE_LOAD_PLUGINS" in os.environ:
            load = [s.strip() for s in os.environ["GENFORGE_LOAD_PLUGINS"].split(",") if s.strip()]
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.records: list[PluginRecord] = []
        self._registries: dict[str, dict[str, Entry]] | None = None
        self._conflicts: list[str] = []
        from genforge import __version__

        for modname in BUILTIN_PLUGINS:
            self._add(lambda m=modname: importlib.import_module(m), modname, "genforge", __version__)
        for ep in entry_points(group=GROUP) if eps is None else eps:
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else ""
            if load is not None and ep.name not in load and dist not in load:
                continue
            self._add(ep.load, ep.name, dist, version)
        for obj in extra or []:
            name = getattr(obj, "__name__", type(obj).__name__)
            self._add(lambda o=obj: o, name, name, "")

    @property
    def hook(self) -> Any:
        """The pluggy hook relay (``plugins.hook.genforge_on_step_end(...)``)."""
        return self.pm.hook

    def _fail(self, record: PluginRecord, message: str, exc: BaseException | None = None) -> None:
        record.error = message
        if self.strict:
            raise PluginError(f"plugin {record.name!r} ({record.label}): {message}") from exc

    def _add(self, loader: Any, name: str, dist: str, version: str) -> None:
        record = PluginRecord(name=name, dist=dist, version=version)
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

    def _build(self) -> dict[str, dict[str, Entry]]:
        registries: dict[str, dict[str, Entry]] = {}
        for kind, hook_name in REGISTRIES.items():
            table: dict[str, Entry] = {}
            registries[kind] = table
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                record = self._record_for(impl.plugin_name)
                staged: list[Entry] = []

                def register(name: str, target: Any, config_cls: Any = None, summary: str = "",
                             *, _kind: str = kind, _record: PluginRecord = record,
                             _staged: list[Entry] = staged, **options: Any) -> None:
                    _staged.append(Entry(_label(_kind), name, target,
                                         _record, config_cls, summary, options))

                try:
                    impl.function(register=register)
                except Exception as e:
                    self._fail(record, f"{hook_name} raised {type(e).__name__}: {e}", e)
                    continue
                for entry in staged:
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
    def registries(self) -> dict[str, dict[str, Entry]]:
        """All registries by kind (``models``, ``data_sources``, ``metrics``, ...)."""
        if self._registries is None:
            self._registries = self._build()
        return self._registries

    @property
    def conflicts(self) -> list[str]:
        """Messages for names that two plugins both registered (the later one is dropped)."""
        self.registries  # noqa: B018 - building the registries finds the conflicts
        return self._conflicts

    def get(self, kind: str, name: str) -> Entry:
        """Look up a registered name; a conflict or an unknown name is a ``PluginError``."""
        table = self.registries[kind]
        if self.conflicts:
            raise PluginError(self.conflicts[0])
        if name not in table:
            known = ", ".join(sorted(table)) or "none installed"
            raise PluginError(f"unknown {_label(kind)} {name!r}{_suggest(name, list(table))}; "
                              f"available: {known}")
        return table[name]

    def names(self, kind: str) -> list[str]:
        """Sorted names registered in one registry."""
        return sorted(self.registries[kind])


@functools.cache
def default_plugins() -> Plugins:
    """The process-wide plugin manager over installed entry points (built once, read-only)."""
    return Plugins()
