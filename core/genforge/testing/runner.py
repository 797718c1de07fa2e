"""Running the checks without pytest: ``run_checks`` and ``assert_conforms``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genforge.plugins import Plugins, default_plugins
from genforge.testing.checks import checks_for
from genforge.testing.results import CheckResult, ConformanceError, NotApplicable
from genforge.testing.subject import DATA_KINDS, Subject


def run_checks(
    model: str,
    *,
    plugins: Plugins | None = None,
    tiny: dict[str, Any] | None = None,
    only: Sequence[str] | None = None,
    skip: Sequence[str] = (),
    kinds: Sequence[str] = DATA_KINDS,
) -> list[CheckResult]:
    """Run the checks on one registered model; ``only``/``skip`` filter by check name."""
    subject = Subject(model, plugins or default_plugins(), dict(tiny or {}))
    results = []
    for check in checks_for(subject, kinds):
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


def assert_conforms(model: str, **kwargs: Any) -> list[CheckResult]:
    """Run the checks and raise ``ConformanceError`` listing every failure; return the results."""
    results = run_checks(model, **kwargs)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise ConformanceError("\n".join(r.line() for r in failed))
    return results
