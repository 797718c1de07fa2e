"""Likelihood bounds: ELBO and IWAE estimates, binarisation, observation models, KL warm-up."""

from __future__ import annotations

import math

import pytest
import torch

import genforge
from genforge import DataInfo
from genforge_vae.config import VAEConfig
from genforge_vae.model import VAE

DIGITS8 = DataInfo(shape=(1, 8, 8), kind="image", num_classes=10)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small vae trained for 1000 steps on digits (a few seconds)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    run = genforge.train({"model": {"name": "vae", "latent_dim": 8, "hidden": 128},
                          "trainer": {"steps": 1000, "progress": False, "sample_every": 0,
                                      "checkpoint_every": 0}, "out": str(out)})
    return run.model.eval()


def ll(model, x, k, seed=0, **kw):
    return model.log_likelihood(x, k=k, generator=torch.Generator().manual_seed(seed), **kw)


def test_k1_iwae_equals_the_elbo_of_the_same_sample(trained, digits):
    out = ll(trained, digits.test.x[:200], k=1)
    assert out["elbo"].dtype == out["iwae"].dtype == torch.float64
    assert out["elbo"].shape == (200,)
    assert torch.equal(out["elbo"], out["iwae"])
    # a different seed draws a different sample, so the estimate is noisy but not fixed
    assert not torch.equal(out["elbo"], ll(trained, digits.test.x[:200], k=1, seed=1)["elbo"])


def test_iwae_bounds_the_elbo_per_example_with_the_same_samples(trained, digits):
    out = ll(trained, digits.test.x[:200], k=10)
    assert bool((out["iwae"] >= out["elbo"]).all())
    assert float((out["iwae"] - out["elbo"]).mean()) > 0.1


def test_iwae_rises_with_k_on_the_test_set(trained, digits):
    x = digits.test.x
    iwae = {k: sum(float(ll(trained, x, k=k, seed=s)["iwae"].mean()) for s in (0, 1)) / 2
            for k in (1, 10, 100)}
    elbo = float(ll(trained, x, k=100)["elbo"].mean())
    assert elbo < iwae[10] and iwae[1] < iwae[10] < iwae[100]
    assert iwae[100] - iwae[1] > 0.3  # nats; the gap is real, not noise
    assert 0 > iwae[100] > -64 * math.log(2)  # better than coin flips for 64 binary pixels


def test_monte_carlo_elbo_matches_the_training_objective_with_analytic_kl(trained, digits):
    x = digits.test.x[:300]
    torch.manual_seed(0)
    with torch.no_grad():
        draws = [trained.loss_terms(x) for _ in range(50)]
    recon = torch.stack([d["recon"] for d in draws]).double().mean()
    kl = draws[0]["kl"].double().mean()
    elbo = ll(trained, x, k=500)["elbo"].mean()
    assert abs(float(elbo + recon + kl)) < 0.1  # nats, of about 19


def test_chunking_does_not_change_the_result(trained, digits):
    x = digits.test.x[:50]
    a = ll(trained, x, k=37, batch_size=50, max_rows=10_000)
    b = ll(trained, x, k=37, batch_size=50, max_rows=64)  # one sample per decoder pass
    for key in ("elbo", "iwae"):
        assert torch.allclose(a[key], b[key], atol=1e-4, rtol=0)


def test_log_likelihood_leaves_the_mode_and_checks_its_arguments(trained, digits):
    trained.train()
    ll(trained, digits.test.x[:4], k=2)
    assert trained.training
    trained.eval()
    with pytest.raises(ValueError, match="k = 0"):
        ll(trained, digits.test.x[:4], k=0)
    with pytest.raises(ValueError, match="not conditional"):
        trained.log_likelihood(digits.test.x[:4], digits.test.y[:4])


def test_bernoulli_binarises_at_half_the_range():
    model = VAE(VAEConfig(latent_dim=2, hidden=8), DIGITS8)
    x = torch.tensor([0.0, 0.2, 0.4999, 0.5, 0.51, 1.0]).repeat(11)[:64].reshape(1, 1, 8, 8)
    target = model.observation.prepare(x)
    assert torch.equal(target, (x >= 0.5).float())
    assert set(target.unique().tolist()) == {0.0, 1.0}
    # the model sees and scores the binarised pixels: grey values change nothing
    gen = torch.Generator().manual_seed(0)
    a = model.log_likelihood(x, k=3, generator=gen)
    b = model.log_likelihood(target, k=3, generator=gen.manual_seed(0))
    assert torch.equal(a["iwae"], b["iwae"])
    assert torch.equal(model.reconstruct(x), model.reconstruct(target))


def test_bernoulli_continuous_scores_grey_values_as_they_are():
    model = VAE(VAEConfig(latent_dim=2, hidden=8, likelihood="bernoulli-continuous"), DIGITS8)
    x = torch.full((1, 1, 8, 8), 0.3)
    assert torch.equal(model.observation.prepare(x), x)
    params = torch.zeros(1, 1, 8, 8)
    expected = 64 * (0.3 * math.log(0.5) + 0.7 * math.log(0.5))
    assert math.isclose(float(model.observation.log_prob(params, x)), expected, rel_tol=1e-6)


def test_fixed_gaussian_log_density():
    info = DataInfo(shape=(2,), kind="vector", value_range=None)
    model = VAE(VAEConfig(gaussian_variance="fixed", gaussian_std=0.5), info)
    mu, x = torch.tensor([[0.0, 1.0]], dtype=torch.float64), torch.tensor([[0.5, 0.0]])
    expected = sum(-0.5 * (d / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)
                   for d in (0.5, 1.0))
    assert math.isclose(float(model.observation.log_prob(mu, x)), expected, rel_tol=1e-7)


def test_gaussian_vae_trains_on_toy2d_and_generates_in_the_data_range(tiny):
    cfg = tiny(model={"latent_dim": 2}, steps=100, batch_size=128)
    cfg["data"] = {"name": "toy2d", "n_train": 2000, "n_test": 200}
    run = genforge.train(cfg)
    losses = [run.metrics[k] for k in ("loss", "recon", "kl")]
    assert all(math.isfinite(v) for v in losses)
    samples = run.model.sample(500, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (500, 2) and float(samples.abs().max()) > 1.0  # not squashed to [0, 1]
    std = run.model.observation.log_std.detach().exp()
    assert not torch.allclose(std, torch.full((2,), 0.1))  # the learned std has moved


def test_kl_weight_ramps_linearly_over_the_warmup_steps():
    model = VAE(VAEConfig(latent_dim=2, hidden=8, beta=2.0, kl_warmup_steps=10), DIGITS8)
    opts = model.configure_optimizers()
    weights = []
    for _ in range(12):
        weights.append(float(model.kl_weight()))
        model.train_step((torch.rand(4, 1, 8, 8), None), opts)
    assert weights == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.0])
    assert int(model.steps_done) == 12 and "steps_done" in model.state_dict()
    plain = VAE(VAEConfig(latent_dim=2, hidden=8, beta=0.5), DIGITS8)
    assert float(plain.kl_weight()) == 0.5


def test_train_step_returns_detached_losses():
    model = VAE(VAEConfig(latent_dim=2, hidden=8), DIGITS8)
    out = model.train_step((torch.rand(4, 1, 8, 8), None), model.configure_optimizers())
    assert set(out) == {"loss", "recon", "kl"}
    assert all(v.dim() == 0 and not v.requires_grad for v in out.values())
    assert math.isclose(float(out["loss"]), float(out["recon"] + out["kl"]), rel_tol=1e-6)
