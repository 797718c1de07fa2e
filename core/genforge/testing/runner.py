"""Running the checks without pytest: ``run_checks``, ``run_data_checks`` and ``assert_conforms``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genforge.entries import Entry
from genforge.plugins import Plugins, default_plugins
from genforge.testing.checks import Check, checks_for, data_source_checks
from genforge.testing.results import CheckResult, ConformanceError, NotApplicable
from genforge.testing.subject import DATA_KINDS, DataSubject, Registered, Subject


def run_checks(
    model: str,
    *,
    plugins: Plugins | None = None,
    tiny: dict[str, object] | None = None,
    only: Sequence[str] | None = None,
    skip: Sequence[str] = (),
    kinds: Sequence[str] = DATA_KINDS,
) -> list[CheckResult]:
    """Run the checks on one registered model; ``only``/``skip`` filter by check name."""
    subject = Subject(model, plugins or default_plugins(), dict(tiny or {}))
    return _run(subject, checks_for(subject, kinds), only, skip)


def run_data_checks(
    source: str,
    *,
    plugins: Plugins | None = None,
    options: dict[str, object] | None = None,
    only: Sequence[str] | None = None,
    skip: Sequence[str] = (),
) -> list[CheckResult]:
    """Run the data-source checks on one registered source, with ``options`` as its ``[data]`` options."""
    subject = DataSubject(source, plugins or default_plugins(), dict(options or {}))
    return _run(subject, data_source_checks(), only, skip)


def _run(subject: Registered[Entry[object]], checks: list[Check], only: Sequence[str] | None,
         skip: Sequence[str]) -> list[CheckResult]:
    model = subject.name
    results = []
    for check in checks:
        if (only is not None and check.name not in only) or check.name in skip:
            continue
        try:
            check(subject)
        except NotApplicable as e:
            results.append(CheckResult(model, check.id, "not applicable", str(e)))
        except ConformanceError as e:
            results.append(CheckResult(model, check.id, "failed", str(e)))
        except Exception as e:  # the plugin's own code raised: report it as a failure
            first = (str(e).strip().splitlines() or [""])[0]
            results.append(CheckResult(model, check.id, "failed", f"{type(e).__name__}: {first}"))
        else:
            results.append(CheckResult(model, check.id, "passed"))
    return results


def assert_conforms(model: str | None = None, *, data_source: str | None = None,
                    **kwargs: Any) -> list[CheckResult]:
    """Run the checks on a model (or a ``data_source``); raise ``ConformanceError`` listing every failure."""
    if data_source is not None:
        results = run_data_checks(data_source, **kwargs)
    elif model is not None:
        results = run_checks(model, **kwargs)
    else:
        raise ValueError("assert_conforms: name a model or a data_source")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise ConformanceError("\n".join(r.line() for r in failed))
    return results
