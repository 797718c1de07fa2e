"""The GAN family passes genforge's conformance kit (one test per model and check)."""

from genforge.testing import parametrize_with_checks


@parametrize_with_checks(["gan", "cgan"])
def test_conformance(model, check):
    check(model)
