"""Decoding, reconstruction, the exported encoder/decoder, and evaluation through the core CLI."""

from __future__ import annotations

import pytest
import torch

import genforge
from genforge import DataInfo
from genforge_runtime.noise import NoiseStreams
from genforge_vae.config import VAEConfig
from genforge_vae.model import CVAE, VAE

DIGITS8 = DataInfo(shape=(1, 8, 8), kind="image", num_classes=10)
SMALL = VAEConfig(latent_dim=3, hidden=16, width=4, embed_dim=2)


@pytest.fixture(params=["mlp", "conv"])
def models(request):
    torch.manual_seed(0)
    cfg = SMALL.model_copy(update={"arch": request.param})
    return VAE(cfg, DIGITS8).eval(), CVAE(cfg, DIGITS8).eval()


def test_generate_returns_probabilities_and_sample_works(models):
    vae, cvae = models
    z = torch.randn(5, 3) * 10
    with torch.no_grad():
        out = vae.generate(z)
    assert out.shape == (5, 1, 8, 8) and 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    assert vae.sample(4, generator=torch.Generator().manual_seed(0)).shape == (4, 1, 8, 8)
    assert cvae.sample(4, labels=[1, 2, 3, 4]).shape == (4, 1, 8, 8)
    with pytest.raises(ValueError, match="cvae: generate needs labels"):
        cvae.generate(z)


def test_gaussian_images_are_squashed_and_vectors_are_not():
    img = VAE(SMALL.model_copy(update={"likelihood": "gaussian"}), DIGITS8)
    with torch.no_grad():
        out = img.generate(torch.randn(50, 3) * 10)
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    vec = VAE(SMALL, DataInfo(shape=(2,), kind="vector", value_range=None))
    torch.nn.init.constant_(vec.decoder.body[-2].bias, 5.0)
    with torch.no_grad():
        assert float(vec.generate(torch.randn(4, 3)).min()) > 1.0


def test_reconstruct_decodes_the_posterior_mean(models, digits):
    for model in models:
        x, y = digits.test.x[:6], (digits.test.y[:6] if model.conditional else None)
        model.train()
        recon = model.reconstruct(x, y)
        assert model.training and recon.shape == x.shape
        mean, _ = model.encoder(model.observation.prepare(x), y)
        assert torch.allclose(recon, model.generate(mean, y))
    with pytest.raises(ValueError, match="cvae: labels are required"):
        models[1].reconstruct(x)


def test_export_module_is_the_decoder(models):
    vae, cvae = models
    module, inputs, names, outputs = vae.export_module()
    assert names == ["z"] and outputs == ["samples"] and len(inputs) == 1
    assert torch.equal(module(*inputs), vae.generate(*inputs))
    module, inputs, names, outputs = cvae.export_module()
    assert names == ["z", "labels"] and inputs[1].dtype == torch.int64
    assert torch.equal(module(*inputs), cvae.generate(*inputs))


def test_export_encoder_prepares_and_encodes(models):
    vae, cvae = models
    module, inputs, names, outputs = vae.export_encoder()
    assert names == ["x"] and outputs == ["mean", "logvar"] and inputs[0].shape == (2, 1, 8, 8)
    mean, logvar = module(*inputs)
    ref_mean, ref_logvar = vae.encoder((inputs[0] >= 0.5).float())
    assert torch.equal(mean, ref_mean) and torch.equal(logvar, ref_logvar)
    module, inputs, names, outputs = cvae.export_encoder()
    assert names == ["x", "labels"] and inputs[1].dtype == torch.int64
    assert module(*inputs)[0].shape == (2, 3)


def test_exported_graphs_trace_with_torch_export(models):
    vae, cvae = models
    for make in (vae.export_module, vae.export_encoder, cvae.export_module, cvae.export_encoder):
        module, inputs, _, _ = make()
        program = torch.export.export(module, inputs)
        got, want = program.module()(*inputs), module(*inputs)
        got, want = (t if isinstance(t, tuple) else (t,) for t in (got, want))
        assert len(got) == len(want) and all(map(torch.allclose, got, want))


def test_cli_eval_sample_reconstruct_and_class_sweep(tiny, tmp_path, capsys):
    """The core's eval and sample modes work on a trained cvae through the model contract."""
    import json

    import numpy as np

    from genforge.cli import main

    cfg = tiny("cvae", model={"name": "cvae"})
    genforge.train(cfg)
    run = cfg["out"]
    out = tmp_path / "nll.json"
    assert main(["eval", run, "--metrics", "nll", "--k", "4", "--seeds", "2", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "nll_elbo" in table and "nll_iwae" in table
    results = json.loads(out.read_text())["results"]
    assert len(results["nll_iwae"]["per_seed"]) == 2 and results["nll_iwae"]["std"] > 0
    assert results["nll_iwae"]["mean"] <= results["nll_elbo"]["mean"]
    loaded = genforge.load(run, device="cpu")
    assert main(["sample", run, "-n", "4", "--reconstruct", "--out", str(tmp_path / "r.npy")]) == 0
    pairs = np.load(tmp_path / "r.npy")
    from genforge.data.digits import DigitsConfig, load

    test = load(DigitsConfig(size=8)).test
    x, y = test.x[:4], test.y[:4]
    assert pairs.shape == (8, 1, 8, 8)
    assert np.array_equal(pairs[0::2], x.numpy())
    assert np.allclose(pairs[1::2], loaded.model.reconstruct(x, y).numpy())
    assert main(["sample", run, "-n", "3", "--class-sweep", "--seed", "5",
                 "--out", str(tmp_path / "s.npy")]) == 0
    sweep = torch.from_numpy(np.load(tmp_path / "s.npy"))
    z = torch.from_numpy(NoiseStreams(5).latents(3, loaded.model.latent_dim))  # the noise contract
    for row in range(3):
        expected = loaded.model.generate(z[row].expand(10, -1), torch.arange(10))
        assert torch.allclose(sweep[row * 10 : row * 10 + 10], expected)
    assert not torch.allclose(sweep[0], sweep[1])  # the class changes the image
