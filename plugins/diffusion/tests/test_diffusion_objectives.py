"""The training objectives: targets consistent with the process, label dropout."""

from __future__ import annotations

import pytest
import torch

from genforge_diffusion.objectives import diffusion_loss, drop_labels, flow_loss, flow_times


def cosine_abar(n: int = 1000) -> torch.Tensor:
    """A cosine ``abar`` table, clipped away from 0 and 1."""
    s = torch.arange(n, dtype=torch.float64) / n
    return (torch.cos((s + 0.008) / 1.008 * torch.pi / 2) ** 2).clamp(1e-4, 0.9999).float()


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_diffusion_loss_is_zero_for_the_exact_prediction(prediction: str) -> None:
    torch.manual_seed(0)
    x0 = torch.randn(16, 1, 8, 8)
    abar = cosine_abar()

    def oracle(xt: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        a = abar[t.long()].reshape(-1, 1, 1, 1)
        eps = (xt - a.sqrt() * x0) / (1 - a).sqrt()
        return eps if prediction == "epsilon" else a.sqrt() * eps - (1 - a).sqrt() * x0

    assert diffusion_loss(oracle, x0, None, abar, prediction) < 1e-8
    wrong = "v" if prediction == "epsilon" else "epsilon"
    assert diffusion_loss(oracle, x0, None, abar, wrong) > 1e-3


def test_diffusion_loss_feeds_integer_timesteps_as_floats() -> None:
    seen = []

    def spy(xt: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        seen.append((t, labels))
        return torch.zeros_like(xt)

    labels = torch.arange(8)
    diffusion_loss(spy, torch.randn(8, 2), labels, cosine_abar(50), "epsilon")
    t, y = seen[0]
    assert t.dtype == torch.float32 and bool((t == t.round()).all()) and 0 <= t.min() and t.max() <= 49
    assert y is labels


@pytest.mark.parametrize("sampling", ["uniform", "logit_normal"])
def test_flow_loss_is_zero_for_the_exact_velocity(sampling: str) -> None:
    torch.manual_seed(0)
    x0 = torch.randn(16, 2)

    def oracle(xs: torch.Tensor, s: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        eps = (xs - (1 - s[:, None]) * x0) / s[:, None]
        return eps - x0

    assert flow_loss(oracle, x0, None, sampling) < 1e-8
    assert flow_loss(lambda xs, s, y: -oracle(xs, s, y), x0, None, sampling) > 1e-2


def test_flow_times_are_inside_the_unit_interval() -> None:
    torch.manual_seed(0)
    for sampling in ("uniform", "logit_normal"):
        s = flow_times(10000, sampling, torch.device("cpu"))
        assert 0.0 < float(s.min()) and float(s.max()) < 1.0
    # logit-normal puts more weight in the middle than uniform does
    mid = lambda s: float(((s > 0.25) & (s < 0.75)).float().mean())  # noqa: E731
    assert mid(flow_times(10000, "logit_normal", torch.device("cpu"))) > 0.6
    assert abs(mid(flow_times(10000, "uniform", torch.device("cpu"))) - 0.5) < 0.03


def test_drop_labels_replaces_a_share_with_the_null_label() -> None:
    torch.manual_seed(0)
    labels = torch.randint(0, 10, (20000,))
    dropped = drop_labels(labels, 0.1, 10)
    changed = dropped != labels
    assert abs(float(changed.float().mean()) - 0.1) < 0.01
    assert bool((dropped[changed] == 10).all())
    assert drop_labels(labels, 0.0, 10) is labels
    assert drop_labels(None, 0.1, 10) is None
