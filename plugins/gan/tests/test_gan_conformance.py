"""The GAN family passes genforge's conformance kit (one test per model and check).

Beside the defaults, each objective, regulariser, DiffAugment and the residual networks
run the kit once, in a few combinations of tiny configs. The plugin-wide checks, which do
not depend on the config, run once above; so does the ONNX export of the DCGAN and MLP
generators, which the objectives and regularisers leave as they are.
"""

import pytest

from genforge.plugins import default_plugins
from genforge.testing import Subject, checks_for, parametrize_with_checks
from genforge.testing.parametrize import PytestCheck

TINY = {"ngf": 8, "ndf": 8, "latent_dim": 4, "hidden": 16}

#: label -> (model, tiny config, data kinds)
COMBINATIONS = {
    "hinge-lazy-r1-dsteps": ("gan", {"loss": "hinge", "r1": 1.0, "reg_every": 2, "d_steps": 2},
                             ("image", "vector")),
    "wgan-gp-ttur": ("gan", {"loss": "wasserstein", "gp": 10.0, "lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0},
                     ("image", "vector")),
    "lsgan-r2-lecam-pack": ("cgan", {"loss": "lsgan", "r2": 1.0, "lecam": 0.1, "pack": 2},
                            ("image", "vector")),
    "diffaugment": ("cgan", {"diffaugment": "color,translation,cutout", "projection": True}, ("image",)),
    "resnet-gan": ("gan", {"arch": "resnet", "spectral_norm": True, "loss": "hinge"}, ("image",)),
    "resnet-cgan": ("cgan", {"arch": "resnet", "spectral_norm": True, "projection": True,
                             "diffaugment": "translation,cutout"}, ("image",)),
}


def combination_params() -> list[object]:
    """One test parameter per (combination, config-dependent check)."""
    plugins = default_plugins()
    params = []
    for label, (name, options, kinds) in COMBINATIONS.items():
        subject = Subject(name, plugins, {**TINY, **options})
        same_generator = options.get("arch") != "resnet"
        params += [pytest.param(subject, PytestCheck(c), id=f"{label}-{c.id}")
                   for c in checks_for(subject, kinds) if c.kind is not None
                   and not (same_generator and c.name == "onnx_matches_pytorch")]
    return params


@parametrize_with_checks(["gan", "cgan"])
def test_conformance(model, check):
    check(model)


@pytest.mark.genforge_conformance
@pytest.mark.parametrize(("model", "check"), combination_params())
def test_conformance_of_each_objective_regulariser_and_network(model, check):
    check(model)
