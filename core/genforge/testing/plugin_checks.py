"""Checks on how a plugin registers: it loads, its entry module is light, its names are unique."""

from __future__ import annotations

import re

from genforge.testing.imports import describe_heavy, entry_point_value, probe_entry_point
from genforge.testing.results import ConformanceError, NotApplicable
from genforge.testing.subject import Subject

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def check_plugin_loads(subject: Subject) -> None:
    """The plugin loads without error and registers the model with a summary.

    The registrar itself checks the arguments when the plugin loads: a wrong one makes
    the plugin fail, which is reported here with the registrar's message.
    """
    entry = subject.entry
    record = entry.plugin
    if record.error:
        raise ConformanceError(f"plugin {record.name!r} ({record.label}) failed: {record.error}")
    if not entry.summary.strip():
        raise ConformanceError(f"model {subject.name!r} from {record.label}: summary is empty. "
                               "Fix: pass summary='one line for genforge plugins -v'")


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
