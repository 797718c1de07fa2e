"""The runtime's exceptions (each message is one line) and how ``genforge-run`` prints errors."""

from __future__ import annotations

import os
import sys
import traceback
import unicodedata


class RuntimeUnavailable(RuntimeError):
    """The requested device cannot run the model (e.g. ``device="cuda"`` without a usable GPU)."""


class NotAGenforgeModel(ValueError):
    """The file is not an ONNX model exported by genforge (no ``genforge.*`` metadata)."""


class ManifestMismatch(NotAGenforgeModel):
    """The file's manifest disagrees with its graph (a field edited, or the graph swapped)."""
class TooLarge(ValueError):
    """An output this machine cannot hold (memory, disk, pixels), refused before the first sample.

    ``genforge`` prints it as one line too (exit status 2).
    """


def printable(text: object) -> str:
    """``str(text)`` on one line, control characters (ANSI escapes, newlines) escaped for a terminal."""
    return "".join(ch if ch == " " or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
                   else ascii(ch)[1:-1] for ch in str(text))


def short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters with ``...`` (a value from a file can be huge)."""
    return cut(repr(value), limit)


def cut(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def message_of(e: BaseException) -> str | None:
    """The one-line message of an error caused by input or the environment; ``None`` for a bug."""
    if isinstance(e, OSError):
        return f"{e.filename}: {e.strerror}" if e.filename is not None and e.strerror else str(e)
    if isinstance(e, MemoryError):
        return "out of memory; ask for fewer samples (-n) or a smaller --batch-size"
    if isinstance(e, (ValueError, RuntimeError)) or type(e).__module__.startswith("onnxruntime"):
        return (str(e).strip().splitlines() or [type(e).__name__])[0]
    return None


def report(e: BaseException, debug: bool) -> int:
    """Print ``e`` as one line (its traceback first when ``debug``) and return 2; re-raise bugs."""
    message = message_of(e)
    if message is None:
        raise e
    if debug or os.environ.get("GENFORGE_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off"):
        traceback.print_exception(e, file=sys.stderr)
    print(f"genforge-run: error: {printable(message)}", file=sys.stderr)
    return 2
