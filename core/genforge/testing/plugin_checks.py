"""Checks on how a plugin registers: it loads, its entry module is light, its names are unique."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ValidationError

from genforge.config import validate_section
from genforge.entries import Entry
from genforge.errors import GenforgeError
from genforge.registrars import REGISTRARS
from genforge.testing.imports import describe_heavy, entry_point_value, probe_entry_point
from genforge.testing.results import ConformanceError, NotApplicable
from genforge.testing.subject import Registered

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def check_plugin_loads(subject: Registered[Entry[object]]) -> None:
    """The plugin loads without error and registers the name with a summary.

    The registrar itself checks the arguments when the plugin loads: a wrong one makes
    the plugin fail, which is reported here with the registrar's message.
    """
    entry = subject.entry
    record = entry.plugin
    if record.error:
        raise ConformanceError(f"plugin {record.name!r} ({record.label}) failed: {record.error}")
    if not entry.summary.strip():
        raise ConformanceError(f"{entry.kind} {subject.name!r} from {record.label}: summary is empty. "
                               "Fix: pass summary='one line for genforge plugins -v'")


def check_entry_module_is_light(subject: Registered[Entry[object]]) -> None:
    """Loading the plugin (entry module and registration hooks) imports no torch or onnx."""
    record = subject.entry.plugin
    module = entry_point_value(record)
    if module is None:
        raise NotApplicable(f"plugin {record.name!r} was registered in-process, not through "
                            "an installed entry point")
    result = probe_entry_point(record)
    what = "model as a 'module:Class'" if subject.registry == "models" else "source as a 'module:function'"
    if result["heavy"]:
        raise ConformanceError(
            f"loading plugin {record.name!r} (entry module {module}) is heavy: "
            f"{describe_heavy(result['heavy'])}. Fix: keep the entry module free of torch: "
            f"register the {what} string and import torch only in that module")
    name = subject.entry.name
    if name not in result["registered"].get(subject.registry, []):
        errors = "; ".join(result["errors"]) or "no error reported"
        raise ConformanceError(f"in a fresh interpreter plugin {record.name!r} did not register "
                               f"{name!r} ({errors}). Fix: register it unconditionally in "
                               f"{REGISTRARS[subject.registry].hook}")


def check_names_are_unique(subject: Registered[Entry[object]]) -> None:
    """No other installed plugin registers the same names; names are command-line friendly."""
    record = subject.entry.plugin
    clashes = [c for c in subject.plugins.conflicts if record.label in c]
    if clashes:
        raise ConformanceError(f"{clashes[0]}. Fix: rename it; users must type a name that two "
                               "installed plugins register as DIST:NAME, so prefix names with your "
                               "project's name")
    bad = [n for names in record.registered.values() for n in names if not NAME.match(n)]
    if bad:
        raise ConformanceError(f"names {bad} are not lowercase letters, digits, '-', '_' or '.'. "
                               "Fix: rename them (users type them on the command line)")


def check_config_json(cls: type[BaseModel], used: BaseModel, section: str) -> None:
    """The config class builds from defaults; it and ``used`` read back their own JSON unchanged."""
    try:
        default = cls()
    except ValidationError as e:
        fields = [".".join(map(str, err["loc"])) for err in e.errors()]
        raise ConformanceError(f"{cls.__name__}() fails without arguments ({', '.join(fields)} "
                               "have no default). Fix: give every config field a default") from None
    for cfg in (default, used):
        text = cfg.model_dump_json()
        try:
            back = cls.model_validate_json(text)
            again = validate_section(cls, json.loads(text), section)
        except (ValidationError, GenforgeError) as e:
            raise ConformanceError(f"{cls.__name__} does not read back its own JSON {text}: "
                                   f"{str(e).splitlines()[0]}. Fix: use JSON-compatible field "
                                   "types, and populate_by_name=True if fields have aliases") from None
        if back != cfg or again != cfg:
            raise ConformanceError(f"{cls.__name__} changes through JSON: {cfg!r} -> {text} -> "
                                   f"{back!r}. Fix: use JSON-compatible field types")
