"""The flow learns through genforge's trainer: 2-D toy data and 8x8 digits."""

from __future__ import annotations

import math

import pytest
import torch

import genforge
from genforge.build import load_data
from genforge.data.toy2d import mode_centers
from genforge.plugins import default_plugins
from genforge_flow.baseline import independent_pixels_nll


def train_and_load(tmp_path, model: dict, data: dict, steps: int, batch_size: int = 64):
    run = genforge.train({"model": {"name": "flow", **model}, "data": data, "out": str(tmp_path / "run"),
                          "trainer": {"steps": steps, "batch_size": batch_size, "progress": False,
                                      "checkpoint_every": 0, "sample_every": 0, "device": "cpu"}})
    loaded = genforge.load(run.out, device="cpu")
    return loaded, load_data(loaded.config, default_plugins())


def gaussian_nll(train: torch.Tensor, test: torch.Tensor) -> float:
    """Held-out NLL (nats) of the best single Gaussian fitted to the training points."""
    mean, cov = train.double().mean(0), torch.cov(train.double().T)
    dist = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    return float(-dist.log_prob(test.double()).mean())


def test_learns_the_eight_gaussians(tmp_path):
    loaded, data = train_and_load(tmp_path, {"dropout": 0.0, "hidden": 64, "coupling_layers": 6},
                                  {"name": "toy2d", "n_train": 4000, "n_test": 1000}, 1000, 128)
    nll = -float(loaded.model.log_likelihood(data.test.x)["exact"].mean())
    baseline = gaussian_nll(data.train.x, data.test.x)
    assert nll < baseline - 2.0, (nll, baseline)  # about 0 nats against about 3.5
    samples = loaded.sample(2000, seed=0)
    dist = torch.cdist(samples, torch.tensor(mode_centers("8gaussians")))
    near = dist.min(1).values < 0.4
    per_mode = torch.bincount(dist.argmin(1)[near], minlength=8)
    assert float(near.float().mean()) > 0.5 and int(per_mode.min()) >= 20, per_mode.tolist()


@pytest.mark.slow
def test_learns_digits_beyond_independent_pixels(tmp_path):
    loaded, data = train_and_load(tmp_path, {"levels": 17}, {"name": "digits", "size": 8}, 800)
    out = loaded.model.log_likelihood(data.test.x, k=8, generator=torch.Generator().manual_seed(0))
    nll = -float(out["exact"].mean())
    independent = independent_pixels_nll(data.train.x, data.test.x, 17)
    print(f"flow digits NLL after 800 steps: {nll:.1f} nats ({nll / 64 / math.log(2):.3f} bits/dim); "
          f"independent pixels: {independent:.1f} nats")
    assert nll < independent - 5.0
    samples = loaded.sample(16, seed=0)
    assert samples.shape == (16, 1, 8, 8) and 0.0 <= float(samples.min()) and float(samples.max()) <= 1.0
