"""Optional model capabilities are protocols, recognised on model classes and instances."""

from __future__ import annotations

import pytest

from genforge.capabilities import (
    SupportsEncoderExport,
    SupportsLikelihood,
    SupportsReconstruction,
    supports,
)
from genforge_gan.model import CGAN, GAN
from genforge_vae.model import CVAE, VAE

ALL = (SupportsLikelihood, SupportsReconstruction, SupportsEncoderExport)


@pytest.mark.parametrize("capability", ALL)
def test_the_vae_families_have_every_capability_and_the_gans_none(capability):
    assert supports(VAE, capability) and supports(CVAE, capability)
    assert not supports(GAN, capability) and not supports(CGAN, capability)


def test_instances_are_checked_like_their_classes():
    class Scores:
        def log_likelihood(self, x, labels=None, k=1, generator=None):
            return {}

    assert supports(Scores(), SupportsLikelihood) and supports(Scores, SupportsLikelihood)
    assert not supports(Scores(), SupportsReconstruction) and not supports(object(), SupportsLikelihood)
