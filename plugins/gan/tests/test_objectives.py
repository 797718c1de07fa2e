"""The objectives and penalties compute what their papers define, on inputs with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from genforge_gan.objectives import (
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    input_gradients,
    interpolate,
    lecam_penalty,
    squared_gradient_norm,
)

REAL = torch.tensor([2.0, 0.5, -1.0])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def test_nonsaturating_is_cross_entropy_with_reals_one_and_fakes_zero():
    softplus = lambda t: math.log1p(math.exp(t))  # noqa: E731  -log sigmoid(-t)
    want_d = sum(softplus(-r) for r in REAL.tolist()) / 3 + sum(softplus(f) for f in FAKE.tolist()) / 3
    assert discriminator_loss("nonsaturating", REAL, FAKE).item() == pytest.approx(want_d, rel=1e-6)
    want_g = sum(softplus(-f) for f in FAKE.tolist()) / 3  # -log D(G(z)): falls as fakes score higher
    assert generator_loss("nonsaturating", FAKE).item() == pytest.approx(want_g, rel=1e-6)


def test_hinge_counts_only_scores_inside_the_margin():
    # reals: relu(1 - [2, 0.5, -1]) = [0, 0.5, 2]; fakes: relu(1 + [-3, 0, 1.5]) = [0, 1, 2.5]
    assert discriminator_loss("hinge", REAL, FAKE).item() == pytest.approx(2.5 / 3 + 3.5 / 3)
    assert discriminator_loss("hinge", torch.tensor([1.0, 5.0]), torch.tensor([-1.0, -9.0])).item() == 0.0
    assert generator_loss("hinge", FAKE).item() == pytest.approx(0.5)  # -mean(fake)


def test_wasserstein_is_the_gap_between_mean_scores():
    # mean(fake) - mean(real) = -0.5 - 0.5
    assert discriminator_loss("wasserstein", REAL, FAKE).item() == pytest.approx(-1.0)
    assert generator_loss("wasserstein", FAKE).item() == pytest.approx(0.5)
    # only the gap counts: shifting every score changes nothing, scaling them scales the loss
    assert discriminator_loss("wasserstein", REAL + 7, FAKE + 7).item() == pytest.approx(-1.0)
    assert discriminator_loss("wasserstein", 3 * REAL, 3 * FAKE).item() == pytest.approx(-3.0)


def test_least_squares_pulls_reals_to_one_and_fakes_to_zero():
    assert discriminator_loss("lsgan", torch.ones(4), torch.zeros(4)).item() == 0.0
    # reals: (2-1)^2, (0.5-1)^2, (-1-1)^2 = 1, 0.25, 4; fakes: 9, 0, 2.25
    assert discriminator_loss("lsgan", REAL, FAKE).item() == pytest.approx(0.5 * 5.25 / 3 + 0.5 * 11.25 / 3)
    assert generator_loss("lsgan", FAKE).item() == pytest.approx(0.5 * (16 + 1 + 0.25) / 3)


@pytest.mark.parametrize("kind", ["nonsaturating", "hinge", "wasserstein", "lsgan"])
def test_each_objective_rewards_the_discriminator_for_telling_reals_from_fakes(kind):
    scores = torch.tensor([0.2, 0.6], requires_grad=True)  # inside every objective's margins
    fake_scores = torch.tensor([0.1, 0.7], requires_grad=True)
    discriminator_loss(kind, scores, fake_scores).backward()
    assert (scores.grad < 0).all() and (fake_scores.grad > 0).all()  # raise reals, lower fakes
    fake = torch.tensor([0.1, 0.7], requires_grad=True)
    generator_loss(kind, fake).backward()
    assert (fake.grad < 0).all()  # the generator wants its samples scored higher


def test_unknown_objective_is_refused():
    with pytest.raises(ValueError, match="model.loss = 'bce': unknown objective"):
        discriminator_loss("bce", REAL, FAKE)


def linear_critic(w: torch.Tensor):
    return lambda x: x.flatten(1) @ w.flatten()


def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    x = torch.randn(5, 2, 2, requires_grad=True)
    grad = input_gradients(linear_critic(w)(x), x)
    assert squared_gradient_norm(grad, 5).item() == pytest.approx(float((w**2).sum()))  # 14.25
    # packs of two: each score's input is two samples, so its gradient has twice the entries
    x4 = torch.randn(4, 2, 2, requires_grad=True)
    packed = linear_critic(w)(x4).reshape(2, 2).sum(1)
    assert squared_gradient_norm(input_gradients(packed, x4), 2).item() == pytest.approx(2 * 14.25)


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic_and_grows_off_it():
    w = torch.tensor([0.6, 0.8])  # |w| = 1: 1-Lipschitz, with slope 1 along every interpolate
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    mixed = interpolate(real, fake).requires_grad_(True)
    assert gradient_penalty(input_gradients(linear_critic(w)(mixed), mixed), 6).item() == pytest.approx(0.0)
    assert gradient_penalty(input_gradients(linear_critic(3 * w)(mixed), mixed), 6).item() == \
        pytest.approx(4.0)  # (|3w| - 1)^2


def test_gradients_stay_differentiable_and_a_scaler_factor_cancels():
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    scores = (x**2).sum(1)
    grad = input_gradients(scores, x, scale=1024.0)
    assert torch.equal(grad, 2 * x.detach())
    (squared,) = torch.autograd.grad(squared_gradient_norm(grad, 1), x)  # d/dx |2x|^2 = 8x
    assert torch.equal(squared, 8 * x.detach())


def test_interpolates_lie_between_reals_and_fakes_with_one_weight_per_pack():
    torch.manual_seed(0)
    real, fake = torch.ones(6, 1, 2, 2), torch.zeros(6, 1, 2, 2)
    t = interpolate(real, fake, pack=3)[:, 0, 0, 0]
    assert ((t >= 0) & (t <= 1)).all() and (t[:3] == t[0]).all() and (t[3:] == t[3]).all()
    assert t[0] != t[3]


def test_lecam_penalises_reals_above_the_fake_anchor_and_fakes_below_the_real_anchor():
    real, fake = torch.tensor([1.0, -2.0]), torch.tensor([0.0, 3.0])
    # relu(real - (-1)) = [2, 0] -> mean 2; relu(0.5 - fake) = [0.5, 0] -> mean 0.125
    value = lecam_penalty(real, fake, anchor_real=torch.tensor(0.5), anchor_fake=torch.tensor(-1.0))
    assert value.item() == pytest.approx(2.0 + 0.125)
    assert lecam_penalty(real, fake, torch.tensor(-5.0), torch.tensor(5.0)).item() == 0.0
