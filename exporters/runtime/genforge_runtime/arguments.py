"""Argument types shared by ``genforge-run`` and ``genforge`` (standard library only, so cheap to import)."""

from __future__ import annotations

import argparse

from genforge_runtime.cpus import cpu_count

#: The largest seed: what numpy, torch and Python all accept.
MAX_SEED = 2**63 - 1
#: The largest count (of samples, steps, ...): what numpy and torch index (int64).
MAX_COUNT = 2**63 - 1


def count(text: str) -> int:
    """An argparse type: an integer from 1 to 2**63 - 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 2**63-1, got {_short(text)}")
    return value


def seed(text: str) -> int:
    """An argparse type: a seed from 0 to 2**63 - 1."""
    value = _integer(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to 2**63-1, got {_short(text)}")
    return value


def cpus(text: str) -> int:
    """An argparse type: a count of threads or processes, from 1 to the number of CPUs."""
    value = _integer(text)
    if not 1 <= value <= cpu_count():
        raise argparse.ArgumentTypeError(f"expected 1 to {cpu_count()} (the CPUs of this machine), "
                                         f"got {_short(text)}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # also more digits than Python reads (4300)
        raise argparse.ArgumentTypeError(f"expected an integer, got {_short(text)}") from None


def _short(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut to about ``limit`` characters (a value of thousands of digits stays readable)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"
