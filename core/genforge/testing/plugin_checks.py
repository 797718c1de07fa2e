"""Checks on how a plugin registers: it loads, its entry module is light, its names are unique."""

from __future__ import annotations

import re

from pydantic import BaseModel

from genforge.testing.imports import describe_heavy, entry_point_value, probe_entry_point
from genforge.testing.results import ConformanceError, NotApplicable
from genforge.testing.subject import Subject

#: Keyword options ``register`` understands for models.
MODEL_OPTIONS = {"conditional", "defaults", "tiny"}
#: Keys of ``register(..., defaults=...)``: run-config sections, and sections per data source.
DEFAULTS_KEYS = {"data", "model", "trainer", "per_data"}
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def check_plugin_loads(subject: Subject) -> None:
    """The plugin loads without error and registers the model with valid arguments."""
    entry = subject.entry
    record = entry.plugin
    if record.error:
        raise ConformanceError(f"plugin {record.name!r} ({record.label}) failed: {record.error}. "
                               "Fix: the error above")
    problems = []
    if not isinstance(entry.options.get("conditional"), bool):
        problems.append("pass conditional=True or conditional=False to register")
    unknown = sorted(set(entry.options) - MODEL_OPTIONS)
    if unknown:
        problems.append(f"register got unknown option(s) {', '.join(map(repr, unknown))}; "
                        f"known: {', '.join(sorted(MODEL_OPTIONS))}")
    if not (isinstance(entry.config_cls, type) and issubclass(entry.config_cls, BaseModel)):
        problems.append(f"config_cls is {entry.config_cls!r}; register a pydantic BaseModel subclass")
    if not entry.summary.strip():
        problems.append("summary is empty; pass summary='one line for genforge plugins -v'")
    defaults = entry.options.get("defaults") or {}
    if not isinstance(defaults, dict) or set(defaults) - DEFAULTS_KEYS:
        problems.append(f"defaults must be a dict with only {sorted(DEFAULTS_KEYS)} keys")
    if problems:
        raise ConformanceError(f"model {subject.name!r} from {record.label}: " + "; ".join(problems))


def check_entry_module_is_light(subject: Subject) -> None:
    """Loading the plugin (entry module and registration hooks) imports no torch or onnx."""
    record = subject.entry.plugin
    module = entry_point_value(record)
    if module is None:
        raise NotApplicable(f"plugin {record.name!r} was registered in-process, not through "
                            "an installed entry point")
    result = probe_entry_point(record)
    if result["heavy"]:
        raise ConformanceError(
            f"loading plugin {record.name!r} (entry module {module}) is heavy: "
            f"{describe_heavy(result['heavy'])}. Fix: keep the entry module free of torch: "
            "register the model as a 'module:Class' string and import torch only in that module")
    if subject.name not in result["registered"]["models"]:
        errors = "; ".join(result["errors"]) or "no error reported"
        raise ConformanceError(f"in a fresh interpreter plugin {record.name!r} did not register "
                               f"{subject.name!r} ({errors}). Fix: register it unconditionally in "
                               "genforge_register_models")


def check_names_are_unique(subject: Subject) -> None:
    """No other installed plugin registers the same names; names are command-line friendly."""
    record = subject.entry.plugin
    clashes = [c for c in subject.plugins.conflicts if record.label in c]
    if clashes:
        raise ConformanceError(f"{clashes[0]}. Fix: rename it; names are global across installed "
                               "plugins, so prefix them with your project's name")
    bad = [n for names in record.registered.values() for n in names if not NAME.match(n)]
    if bad:
        raise ConformanceError(f"names {bad} are not lowercase letters, digits, '-', '_' or '.'. "
                               "Fix: rename them (users type them on the command line)")
