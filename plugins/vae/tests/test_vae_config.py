"""Registration, config validation, and the choice of networks and observation models."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import genforge
from genforge import ConfigError, DataInfo
from genforge_vae.config import VAEConfig
from genforge_vae.likelihoods import Bernoulli, Gaussian
from genforge_vae.model import CVAE, VAE

DIGITS8 = DataInfo(shape=(1, 8, 8), kind="image", num_classes=10)
TOY = DataInfo(shape=(2,), kind="vector", value_range=None, num_classes=8)


def test_vae_and_cvae_are_registered_with_defaults():
    plugins = genforge.Plugins()
    vae, cvae = plugins.get("models", "vae"), plugins.get("models", "cvae")
    assert vae.plugin.dist == "genforge-vae" and vae.config_cls is VAEConfig
    assert vae.conditional is False and cvae.conditional is True
    assert vae.defaults["data"] == {"name": "digits", "size": 8}


def test_entry_module_does_not_import_torch():
    code = "import sys, genforge_vae.plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("override", "message"), [
    ({"likelihood": "poisson"}, "model.likelihood = 'poisson': input should be"),
    ({"beta": -1.0}, "model.beta = -1.0: input should be greater than or equal to 0"),
    ({"kl_warmup_steps": -5}, "model.kl_warmup_steps = -5"),
    ({"gaussian_variance": "free"}, "model.gaussian_variance = 'free'"),
    ({"gaussian_std": 0.0}, "model.gaussian_std = 0.0: input should be greater than 0"),
    ({"arch": "resnet"}, "model.arch = 'resnet'"),
    ({"hiden": 3}, "model.hiden: unknown key"),
    ({"latent_dim": "big"}, "model.latent_dim = 'big': expected 'auto' or a positive integer"),
    ({"latent_dim": 0}, "model.latent_dim = 0: expected 'auto' or a positive integer"),
])
def test_bad_options_are_config_errors(tiny, override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        genforge.train(tiny(model=override))


@pytest.mark.parametrize(("model", "data", "message"), [
    ({"likelihood": "bernoulli"}, {"name": "toy2d", "n_train": 64, "n_test": 0},
     "model.likelihood = 'bernoulli': needs data in [0, 1]"),
    ({"likelihood": "bernoulli-continuous"}, {"name": "toy2d", "n_train": 64, "n_test": 0},
     "model.likelihood = 'bernoulli-continuous': needs data in [0, 1]"),
    ({"arch": "conv"}, {"name": "toy2d", "n_train": 64, "n_test": 0},
     "model.arch = 'conv': needs image or signal data"),
    ({"name": "cvae"}, {"name": "toy2d", "dataset": "swissroll", "n_train": 64, "n_test": 0},
     "needs labelled data"),
])
def test_options_that_do_not_fit_the_data_are_config_errors(tiny, model, data, message):
    cfg = tiny(model=model)
    cfg["data"] = data
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        genforge.train(cfg)


def test_auto_picks_mlp_for_small_images_and_vectors_and_conv_for_larger_images():
    assert VAE(VAEConfig(), DIGITS8).arch == "mlp"
    assert VAE(VAEConfig(), DataInfo(shape=(1, 16, 16), kind="image")).arch == "mlp"
    assert VAE(VAEConfig(), DataInfo(shape=(3, 32, 32), kind="image")).arch == "conv"
    assert VAE(VAEConfig(), TOY).arch == "mlp"
    assert VAE(VAEConfig(arch="conv"), DIGITS8).arch == "conv"
    assert VAE(VAEConfig(arch="mlp"), DataInfo(shape=(3, 32, 32), kind="image")).arch == "mlp"


def test_auto_likelihood_is_bernoulli_for_images_and_gaussian_for_vectors():
    image, vector = VAE(VAEConfig(), DIGITS8), VAE(VAEConfig(), TOY)
    assert image.likelihood == "bernoulli" and isinstance(image.observation, Bernoulli)
    assert image.observation.binarise
    assert vector.likelihood == "gaussian" and isinstance(vector.observation, Gaussian)
    assert not VAE(VAEConfig(likelihood="bernoulli-continuous"), DIGITS8).observation.binarise


@pytest.mark.parametrize(("shape", "arch", "likelihood", "latent", "widths"), [
    ((1, 8, 8), "mlp", "bernoulli", 16, []),  # the digits' defaults, as published
    ((1, 16, 16), "mlp", "bernoulli", 16, []),
    ((1, 28, 28), "conv", "bernoulli", 16, [32, 64]),  # MNIST: 28 -> 14 -> 7
    ((3, 32, 32), "conv", "bernoulli-continuous", 64, [32, 64, 128]),  # CIFAR: 32 -> 16 -> 8 -> 4
])
@pytest.mark.parametrize("family", [VAE, CVAE])
def test_the_defaults_follow_the_data_shape(family, shape, arch, likelihood, latent, widths):
    model = family(VAEConfig(), DataInfo(shape=shape, kind="image", num_classes=10))
    assert (model.arch, model.likelihood, model.latent_dim) == (arch, likelihood, latent)
    assert model.encoder.head.out_features == 2 * latent
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == widths
    assert isinstance(model.observation, Bernoulli) and model.observation.binarise == (shape[0] == 1)
    assert VAE(VAEConfig(latent_dim=5), DataInfo(shape=shape, kind="image")).latent_dim == 5


def test_gaussian_variance_learned_is_a_parameter_and_fixed_is_not():
    learned = VAE(VAEConfig(gaussian_variance="learned", gaussian_std=0.5), TOY)
    fixed = VAE(VAEConfig(gaussian_variance="fixed", gaussian_std=0.5), TOY)
    assert "observation.log_std" in dict(learned.named_parameters())
    assert "observation.log_std" not in dict(fixed.named_parameters())
    assert "observation.log_std" not in fixed.state_dict()
    for m in (learned, fixed):
        assert torch.allclose(m.observation.log_std.exp(), torch.full((2,), 0.5))


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (1, 28, 28), (3, 64, 48)])
def test_conv_nets_map_back_to_the_image_shape(shape):
    info = DataInfo(shape=shape, kind="image", num_classes=3)
    model = CVAE(VAEConfig(arch="conv", width=4, hidden=8, latent_dim=3, embed_dim=2), info)
    x = torch.rand(2, *shape)
    mean, logvar = model.encoder(x, torch.tensor([0, 2]))
    assert mean.shape == logvar.shape == (2, 3)
    assert model.generate(mean, torch.tensor([0, 2])).shape == (2, *shape)


@pytest.mark.parametrize(("shape", "stages"), [((1, 256), 6), ((2, 1000), 3), ((1, 4096), 8)])
def test_signals_get_1d_conv_nets_that_map_back_to_their_shape(shape, stages):
    info = DataInfo(shape=shape, kind="signal", value_range=(-1.0, 1.0), num_classes=3, sample_rate=8000)
    model = CVAE(VAEConfig(width=4, hidden=8, latent_dim=3, embed_dim=2), info)
    assert model.arch == "conv" and model.likelihood == "gaussian"
    convs = [m for m in model.encoder.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]
    assert len(convs) == stages and all(isinstance(m, torch.nn.Conv1d) for m in convs)
    assert convs[-1].out_channels == 4 * 2 ** min(stages - 1, 3)  # channels double at most 3 times
    x = torch.rand(2, *shape) * 2 - 1
    mean, logvar = model.encoder(x, torch.tensor([0, 2]))
    assert mean.shape == logvar.shape == (2, 3)
    out = model.generate(mean, torch.tensor([0, 2]))
    assert out.shape == (2, *shape) and out.abs().max() <= 1.0  # clamped to the value range


def test_signals_too_short_or_odd_to_halve_get_the_mlp():
    assert VAE(VAEConfig(), DataInfo(shape=(1, 6), kind="signal", value_range=(-1.0, 1.0))).arch == "mlp"
    assert VAE(VAEConfig(), DataInfo(shape=(1, 255), kind="signal", value_range=(-1.0, 1.0))).arch == "mlp"


def test_conv_on_images_too_small_to_halve_is_an_error():
    with pytest.raises(ValueError, match="cannot be halved"):
        VAE(VAEConfig(arch="conv"), DataInfo(shape=(1, 6, 6), kind="image"))


def test_adam_defaults():
    opt = VAE(VAEConfig(), DIGITS8).configure_optimizers()["model"]
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == (0.9, 0.999)
