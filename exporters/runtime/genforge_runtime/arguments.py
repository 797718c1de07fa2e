"""Argument types shared by ``genforge-run`` and ``genforge`` (standard library only, so cheap to import)."""

from __future__ import annotations

import argparse

#: The largest seed: what numpy, torch and Python all accept.
MAX_SEED = 2**63 - 1


def count(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def seed(text: str) -> int:
    """An argparse type: a seed from 0 to 2**63 - 1."""
    value = _integer(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to 2**63-1, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
