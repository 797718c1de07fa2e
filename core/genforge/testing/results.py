"""Outcomes of conformance checks: the two exceptions a check raises, its warning and a result record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class ConformanceError(AssertionError):
    """A check failed; the message names the problem and what the plugin must change."""


class ConformanceWarning(UserWarning):
    """A check passed, but found something a plugin usually does by mistake (the message says what)."""


class NotApplicable(Exception):
    """A check cannot run in this environment (for example, no ONNX exporter is installed)."""


Status = Literal["passed", "failed", "not applicable"]


@dataclass(frozen=True)
class CheckResult:
    """What one check said about one model."""

    model: str
    check: str
    status: Status
    message: str = ""

    def line(self) -> str:
        """One line for a report: ``model check: STATUS message``."""
        tail = f" {self.message}" if self.message else ""
        return f"{self.model} {self.check}: {self.status.upper()}{tail}"
