"""The diffusion family passes genforge's conformance kit (one test per model and check)."""

from genforge.testing import parametrize_with_checks


@parametrize_with_checks(["ddpm", "cddpm", "fm", "cfm"])
def test_conformance(model, check):
    check(model)
