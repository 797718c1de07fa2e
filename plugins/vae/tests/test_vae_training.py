"""Training through the generic trainer: save/load, bit-exact resume, beta, cvae conditioning."""

from __future__ import annotations

import json

import pytest
import torch

import genforge


def weights(run_dir):
    from genforge.checkpoint import SavedRun

    return SavedRun.open(run_dir).weights()


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_save_and_load_round_trip_exactly(tiny, tmp_path, digits, name):
    run = genforge.train(tiny(model={"name": name, "kl_warmup_steps": 100}))
    loaded = genforge.load(tmp_path / "run", device="cpu")
    assert type(loaded.model) is type(run.model)
    assert_same(run.model.state_dict(), loaded.model.state_dict())
    assert int(loaded.model.steps_done) == 6
    labels = [3] if name == "cvae" else None
    run.model.eval()
    a = run.model.sample(8, labels=labels, seed=1)
    assert torch.equal(a, loaded.sample(8, labels=labels, seed=1))
    x, y = digits.test.x[:20], (digits.test.y[:20] if name == "cvae" else None)
    la = run.model.log_likelihood(x, y, k=5, generator=torch.Generator().manual_seed(0))
    lb = loaded.model.log_likelihood(x, y, k=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(la["iwae"], lb["iwae"]) and torch.equal(la["elbo"], lb["elbo"])
    assert not [p for p in (tmp_path / "run").rglob("*") if p.suffix in {".pt", ".pth", ".pkl"}]


def test_resume_matches_an_uninterrupted_run_bit_for_bit(tiny, tmp_path):
    # the KL warm-up depends on the step counter, which must survive the resume
    model = {"kl_warmup_steps": 8, "likelihood": "gaussian"}
    genforge.train(tiny("straight", model, steps=10, checkpoint_every=5))
    genforge.train(tiny("split", model, steps=5, checkpoint_every=5))
    genforge.train(tiny("split", model, steps=10, checkpoint_every=5), resume=True)
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert_same(a, b)
    assert int(a["steps_done"]) == 10 and "observation.log_std" in a
    split = {x["step"]: x["loss"] for x in map(json.loads, (tmp_path / "split" / "metrics.jsonl").open())}
    straight = [json.loads(x) for x in (tmp_path / "straight" / "metrics.jsonl").open()]
    assert [split[x["step"]] for x in straight] == [x["loss"] for x in straight]


def test_beta_zero_keeps_information_and_large_beta_collapses_the_posterior(tiny, digits):
    def trained(name, beta):
        run = genforge.train(tiny(name, {"latent_dim": 8, "hidden": 64, "beta": beta},
                                  steps=400, batch_size=64, checkpoint_every=0))
        torch.manual_seed(0)
        with torch.no_grad():
            terms = run.model.eval().loss_terms(digits.test.x)
        return float(terms["recon"].mean()), float(terms["kl"].mean())

    recon_ae, kl_ae = trained("beta0", 0.0)
    recon_elbo, kl_elbo = trained("beta1", 1.0)
    recon_big, kl_big = trained("beta50", 50.0)
    # beta = 0: a plain autoencoder with noise; the code is free to carry lots of information
    assert kl_ae > 2 * kl_elbo and kl_ae > 30.0
    assert recon_ae < recon_elbo
    # very large beta: the posterior matches the prior, z carries (almost) nothing
    assert kl_big < 0.1
    assert recon_big > recon_elbo + 1.0


@pytest.mark.slow
def test_cvae_samples_show_the_requested_class(tmp_path, digits):
    from sklearn.svm import SVC

    svc = SVC().fit(digits.train.x.flatten(1).numpy(), digits.train.y.numpy())
    run = genforge.train({"model": {"name": "cvae"}, "out": str(tmp_path / "cvae"),
                          "trainer": {"steps": 500, "progress": False, "checkpoint_every": 0}})
    loaded = genforge.load(tmp_path / "cvae", device="cpu")
    per_class = 50
    labels = torch.arange(10).repeat_interleave(per_class)
    samples = loaded.sample(len(labels), labels=labels, seed=0)
    assert samples.shape == (500, 1, 8, 8) and run.metrics["kl"] > 0.5
    predicted = torch.from_numpy(svc.predict(samples.flatten(1).numpy()))
    accuracy = (predicted == labels).float().view(10, per_class).mean(1)
    assert bool((accuracy >= 0.9).all()), accuracy.tolist()
