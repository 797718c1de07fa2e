"""The pytest plugin (``pytest11`` entry point ``genforge``): marker and "not applicable" reports.

A conformance check that cannot run in this environment (say, no ONNX exporter is
installed) is reported as *not applicable* rather than as an ordinary skip. Set the ini
option ``genforge_not_applicable = "fail"`` where every check must run (genforge's own
CI does). This module imports neither torch nor the checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

PREFIX = "not applicable: "
CATEGORY = "not applicable"
_state = {"fail": False, "active": False}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ``genforge_not_applicable`` ini option."""
    parser.addini("genforge_not_applicable", "genforge conformance checks that cannot run here: "
                  "'report' them (default) or 'fail'", default="report")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and read the ini option."""
    config.addinivalue_line("markers", "genforge_conformance: a check of genforge's conformance "
                            "kit (genforge.testing.parametrize_with_checks)")
    _state["fail"] = str(config.getini("genforge_not_applicable")).strip().lower() == "fail"
    _state["active"] = True


def marker_registered() -> bool:
    """Whether this plugin configured the session (so the ``genforge_conformance`` marker exists)."""
    return _state["active"]


def not_applicable(reason: str) -> None:
    """End the current test as not applicable (or as failed under ``genforge_not_applicable = fail``)."""
    import pytest

    if _state["fail"]:
        pytest.fail(f"{PREFIX}{reason} (and genforge_not_applicable = 'fail')", pytrace=False)
    pytest.skip(PREFIX + reason)


def _is_not_applicable(report: pytest.TestReport | pytest.CollectReport) -> bool:
    longrepr = getattr(report, "longrepr", None)
    return bool(report.skipped and isinstance(longrepr, tuple) and len(longrepr) == 3
                and str(longrepr[2]).removeprefix("Skipped: ").startswith(PREFIX))


def pytest_report_teststatus(report: pytest.TestReport | pytest.CollectReport,
                             config: pytest.Config) -> tuple[str, str, str] | None:
    """Report not-applicable checks as their own outcome (``n``, ``NOT APPLICABLE``)."""
    if _is_not_applicable(report):
        return CATEGORY, "n", "NOT APPLICABLE"
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the checks that were not applicable, with the reason."""
    reports = terminalreporter.stats.get(CATEGORY, [])
    if reports:
        terminalreporter.section("genforge checks not applicable here", sep="-")
        for r in reports:
            reason = str(r.longrepr[2]).removeprefix("Skipped: ").removeprefix(PREFIX)
            terminalreporter.write_line(f"{r.nodeid}: {reason}")
