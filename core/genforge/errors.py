"""Exceptions that genforge turns into one-line messages, and the one place that prints them.

``report`` is the command lines' single handler: an error caused by input or by the
environment (a ``GenforgeError``, an output refused as ``genforge_runtime``'s ``TooLarge``,
an ``OSError`` such as a full disk or a read-only folder, undecodable text, malformed
JSON/TOML/safetensors/ONNX, too little memory) becomes one line on stderr and an exit
status; ``GENFORGE_DEBUG=1`` (or ``--debug``) also prints the whole chain of causes,
including those hidden by ``raise ... from None``. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sys
import traceback
import unicodedata

from genforge_runtime.errors import TooLarge


class GenforgeError(Exception):
    """Base class: a user-facing error whose message is one self-contained line."""

    #: the command line's exit status for this error
    exit_code = 2


class ConfigError(GenforgeError):
    """A config value is missing, unknown or of the wrong kind."""


class PluginError(GenforgeError):
    """A plugin is broken, unknown or conflicts with another plugin."""


class CheckpointError(GenforgeError):
    """A checkpoint folder is missing, incomplete or unreadable."""


class DataError(GenforgeError):
    """A data source cannot read or interpret its input."""


class TrainingDiverged(GenforgeError):
    """A loss or a weight became NaN or infinite; the last finite checkpoint was kept."""

    exit_code = 3


#: modules whose exceptions describe a malformed file (their classes are not importable by name)
_FILE_FORMAT_MODULES = ("onnxruntime", "safetensors", "onnx", "google.protobuf")


def disk_full(e: BaseException) -> bool:
    """True for an error of a full disk or quota (safetensors reports one as text with the errno)."""
    codes = (errno.ENOSPC, errno.EDQUOT)
    if isinstance(e, OSError):
        return e.errno in codes
    return type(e).__name__ == "SafetensorError" and any(f"(os error {c})" in str(e) for c in codes)


def debug_enabled() -> bool:
    """True when ``GENFORGE_DEBUG`` asks for the full chain of causes."""
    return os.environ.get("GENFORGE_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


def printable(text: str) -> str:
    """``text`` on one line, with control and format characters (ANSI escapes, newlines) escaped."""
    return "".join(ch if ch == " " or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
                   else ascii(ch)[1:-1] for ch in text)


def one_line(e: BaseException) -> str:
    """An exception's message with its whitespace runs (line breaks too) as single spaces."""
    return " ".join(str(e).split()) or type(e).__name__


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message: at most ``limit`` characters, an integer of any size by its length."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"{'-' if value < 0 else ''}<an integer of {math.floor(math.log10(abs(value))) + 1} digits>"
    try:
        text = repr(value)
    except ValueError:  # a container holding an integer longer than Python prints
        return f"<a {type(value).__name__} holding an integer of thousands of digits>"
    return text if len(text) <= limit else f"{text[:limit - 13]}... ({len(text)} chars)"


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def user_error(e: BaseException) -> tuple[int, str] | None:
    """(exit status, message) for an error caused by input or the environment; ``None`` for a bug."""
    if isinstance(e, (GenforgeError, TooLarge)):  # TooLarge: an output refused by genforge_runtime.sizes
        return getattr(e, "exit_code", 2), str(e)
    if isinstance(e, OSError):
        where = f"{e.filename}: " if e.filename is not None else ""
        return 2, f"{where}{e.strerror or _first_line(e)}"
    if isinstance(e, UnicodeDecodeError):
        return 2, f"a file is not UTF-8 text ({e.reason} at byte {e.start})"
    if isinstance(e, json.JSONDecodeError):
        return 2, f"not valid JSON: {e}"
    if isinstance(e, MemoryError) or "can't allocate memory" in str(e) or \
            type(e).__name__ == "OutOfMemoryError":
        return 2, "out of memory; ask for fewer samples (-n) or a smaller --batch-size"
    if isinstance(e, RecursionError):
        return 2, "input nested too deeply"
    names = {f"{c.__module__}.{c.__name__}" for c in type(e).__mro__}
    if "tomllib.TOMLDecodeError" in names or "tomli.TOMLDecodeError" in names:
        return 2, f"not valid TOML: {e}"
    if "pydantic_core._pydantic_core.ValidationError" in names:
        return 2, f"invalid value: {_first_line(e)}"
    if type(e).__module__.startswith(_FILE_FORMAT_MODULES):
        return 2, f"{type(e).__name__}: {_first_line(e)}"
    return None


def print_chain(e: BaseException) -> None:
    """Print ``e`` and every exception behind it, also those suppressed by ``from None``."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for i, exc in enumerate(reversed(chain)):
        if i:
            print("\nwhich led to:\n", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, chain=False, file=sys.stderr)


def report(e: BaseException, prog: str, debug: bool = False) -> int:
    """Print ``e`` as one line (plus its chain when ``debug``); return the exit status; re-raise bugs."""
    found = user_error(e)
    if found is None:
        raise e
    if debug:
        print_chain(e)
    code, message = found
    print(f"{prog}: error: {printable(message)}", file=sys.stderr)
    return code
