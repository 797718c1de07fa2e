"""The models: training parametrisation consistent with the shared samplers, sampling options, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genforge import DataInfo, iterate
from genforge_diffusion.config import DiffusionConfig
from genforge_diffusion.model import CDDPM, CFM, DDPM, FM
from genforge_diffusion.sampling import DiffusionSampling, FlowSampling, GuidedFlowSampling

IMAGES = DataInfo(shape=(1, 8, 8), kind="image", value_range=(0.0, 1.0), num_classes=10,
                  class_names=tuple("0123456789"), num_train=10, num_test=10, name="digits")
POINTS = DataInfo(shape=(2,), kind="vector", value_range=None, num_classes=0, class_names=(),
                  num_train=10, num_test=10, name="toy2d")
TINY = {"widths": [8, 16], "groups": 4, "embed_dim": 16, "hidden": 16, "layers": 1}


def build(cls: type[DDPM], info: DataInfo = IMAGES, **options: object) -> DDPM:
    """A tiny model of ``cls`` on ``info``."""
    return cls(DiffusionConfig(**{**TINY, **options}), info)


class Oracle(nn.Module):
    """The exact prediction for data that is one known point ``x0`` (network units)."""

    def __init__(self, model: DDPM, x0: torch.Tensor) -> None:
        super().__init__()
        self.model, self.x0 = model, x0

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """epsilon, v or the velocity at ``x`` for data ``x0``."""
        b = (-1, *[1] * (x.dim() - 1))
        if isinstance(self.model, FM):
            s = t.reshape(b)
            return (x - (1 - s) * self.x0) / s - self.x0
        a = self.model.abar[t.long()].reshape(b)
        eps = (x - a.sqrt() * self.x0) / (1 - a).sqrt()
        return eps if self.model.config.prediction == "epsilon" else a.sqrt() * eps - (1 - a).sqrt() * self.x0


@pytest.mark.parametrize(("cls", "prediction", "schedule", "sampler", "steps"), [
    (DDPM, "epsilon", "linear", "ddim", 10), (DDPM, "v", "cosine", "ddim", 7),
    (DDPM, "v", "cosine", "dpmpp_2m", 5), (DDPM, "epsilon", "cosine", "dpmpp_2m", 20),
    (FM, None, None, "euler", 1), (FM, None, None, "heun", 4)])
def test_deterministic_samplers_reach_the_data_under_the_training_targets(cls, prediction, schedule,
                                                                          sampler, steps) -> None:
    """What the loss trains the network to predict is what the shared samplers step with."""
    extra = {} if cls is FM else {"prediction": prediction, "schedule": schedule}
    model = build(cls, POINTS, data_std=2.0, **extra)
    x0 = torch.tensor([[0.75, -0.5]])
    options = (FlowSampling if cls is FM else DiffusionSampling)(sampler=sampler, steps=steps)
    out = iterate(model.sampling_process(), options, torch.randn(3, 2), Oracle(model, x0), None, None,
                  shape=(2,), value_range=None)
    assert torch.allclose(out, (x0 * 2.0).expand(3, 2), atol=1e-3)  # data units: x0 * data_std


def test_images_are_modelled_in_the_unit_interval_mapped_to_plus_minus_one() -> None:
    model = build(FM)
    x0 = torch.full((1, 1, 8, 8), -1.0)  # black in network units
    out = iterate(model.sampling_process(), FlowSampling(sampler="euler", steps=1), torch.randn(2, 64),
                  Oracle(model, x0), None, None, shape=(1, 8, 8), value_range=(0.0, 1.0))
    assert torch.allclose(out, torch.zeros(2, 1, 8, 8), atol=1e-5)


@pytest.mark.parametrize("cls", [DDPM, CDDPM, FM, CFM])
def test_train_step_updates_the_network_and_reports_the_loss(cls) -> None:
    torch.manual_seed(0)
    model = build(cls)
    opt = model.configure_optimizers()
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    out = model.train_step((x, y), opt)
    assert math.isfinite(float(out["loss"]))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_sample_time_options_change_the_samples_and_fix_them_per_seed() -> None:
    torch.manual_seed(0)
    model = build(CFM)
    for p in model.parameters():
        p.data.normal_(0.0, 0.05)
    def draw(**options: float) -> torch.Tensor:
        return model.sample(4, labels=[1, 2, 3, 4], seed=3, options=GuidedFlowSampling(**options))

    a = draw(steps=3)
    assert torch.equal(a, draw(steps=3))
    assert not torch.equal(a, draw(steps=4))
    assert not torch.equal(a, draw(steps=3, guidance=0.0))


def test_ancestral_sampling_draws_its_noise_from_the_request() -> None:
    torch.manual_seed(0)
    model = build(DDPM, POINTS)
    for p in model.parameters():
        p.data.normal_(0.0, 0.05)
    options = DiffusionSampling(sampler="ddpm", steps=5)
    a = model.sample(6, seed=1, options=options)
    assert torch.equal(a, model.sample(6, seed=1, options=options))
    assert not torch.equal(a, model.sample(6, seed=2, options=options))


def test_guidance_needs_a_conditional_model() -> None:
    model = build(FM)
    with pytest.raises(ValueError, match="guidance"):
        model.sample(2, seed=0, options=FlowSampling(steps=2, guidance=3.0))


def test_conditional_models_need_labelled_data_and_labels() -> None:
    with pytest.raises(ValueError, match="cfm needs labelled data"):
        build(CFM, POINTS)
    with pytest.raises(ValueError, match="cddpm: generate needs labels"):
        build(CDDPM).generate(torch.randn(2, 64), None)


def test_unet_on_vectors_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="arch = 'unet'"):
        build(DDPM, POINTS, arch="unet")


@pytest.mark.parametrize(("cls", "names"), [(DDPM, ["x", "t"]), (CFM, ["x", "t", "labels"])])
def test_export_module_is_the_step_network(cls, names) -> None:
    model = build(cls)
    module, inputs, input_names, output_names = model.export_module()
    assert module is model.net and input_names == names and output_names == ["prediction"]
    assert module(*inputs).shape == inputs[0].shape
