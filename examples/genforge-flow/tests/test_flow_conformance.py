"""The flow family passes genforge's conformance kit (one test per check)."""

from genforge.testing import parametrize_with_checks


@parametrize_with_checks(["flow"])
def test_conformance(model, check):
    check(model)
