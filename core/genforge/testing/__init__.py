"""genforge's conformance kit for plugin authors (also a pytest plugin).

``parametrize_with_checks(["mymodel"])`` turns a test function into one test per
(model, check), in the style of scikit-learn's ``parametrize_with_checks``::

    from genforge.testing import parametrize_with_checks

    @parametrize_with_checks(["mymodel"])
    def test_conformance(model, check):
        check(model)

``run_checks`` and ``assert_conforms`` run the same checks without pytest. Importing
this package stays light (no torch): it is loaded in every pytest session through the
``pytest11`` entry point, and the checks import torch only when they run.
"""

from __future__ import annotations

import importlib
from typing import Any

from genforge.testing.results import CheckResult, ConformanceError, ConformanceWarning, NotApplicable

_LAZY = {
    "parametrize_with_checks": "genforge.testing.parametrize",
    "run_checks": "genforge.testing.runner",
    "run_data_checks": "genforge.testing.runner",
    "assert_conforms": "genforge.testing.runner",
    "checks_for": "genforge.testing.checks",
    "Check": "genforge.testing.checks",
    "Subject": "genforge.testing.subject",
    "DataSubject": "genforge.testing.subject",
}

__all__ = ["CheckResult", "ConformanceError", "ConformanceWarning", "NotApplicable", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genforge.testing' has no attribute {name!r}")
