"""The GAN family: architectures, conditioning, export graph, and one end-to-end run."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import genforge
from genforge import DataInfo
from genforge.checkpoint import CONFIG, SavedRun
from genforge_gan.config import GANConfig
from genforge_gan.model import CGAN, GAN
from genforge_gan.nets import conv_layout
from genforge_gan.objectives import discriminator_loss, lecam_penalty


def image_info(size: int, channels: int = 1, classes: int = 0) -> DataInfo:
    return DataInfo(shape=(channels, size, size), kind="image", num_classes=classes)


@pytest.mark.parametrize(("size", "layout"), [(8, (4, 1)), (16, (4, 2)), (28, (7, 2)), (32, (4, 3)),
                                              (48, (6, 3)), (64, (4, 4))])
def test_dcgan_adapts_to_image_size(size, layout):
    assert conv_layout(size) == layout
    model = GAN(GANConfig(ngf=8, ndf=8, latent_dim=10), image_info(size, 3))
    x = model.sample(3, generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 3, size, size) and 0.0 <= x.min() and x.max() <= 1.0
    assert model.discriminator(x * 2 - 1).shape == (3,)


def test_dcgan_at_64_pixels_is_the_reference_architecture():
    model = GAN(GANConfig(), image_info(64, 3))
    g_convs = [m for m in model.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.out_channels for m in g_convs] == [512, 256, 128, 64, 3]
    assert g_convs[0].in_channels == 100
    d_convs = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in d_convs] == [64, 128, 256, 512, 1]


@pytest.mark.parametrize(("shape", "g_widths", "d_widths", "first_side"), [
    ((1, 28, 28), [128, 64, 1], [64, 128, 1], 7), ((3, 32, 32), [256, 128, 64, 3], [64, 128, 256, 1], 4)])
@pytest.mark.parametrize("family", [GAN, CGAN])
def test_the_defaults_build_the_standard_dcgan_for_mnist_and_cifar(family, shape, g_widths, d_widths,
                                                                   first_side):
    model = family(GANConfig(), DataInfo(shape=shape, kind="image", num_classes=10))
    g_convs = [m for m in model.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.out_channels for m in g_convs] == g_widths and g_convs[0].kernel_size == (first_side,) * 2
    d_convs = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in d_convs] == d_widths and d_convs[-1].kernel_size == (first_side,) * 2
    labels = torch.arange(2) if model.conditional else None
    assert model.generate(torch.randn(2, 100), labels).shape == (2, *shape)


def test_rejects_unsupported_image_sizes():
    for size in (6, 18, 36):
        with pytest.raises(ValueError, match="DCGAN needs square images of 4 to 7 pixels doubled"):
            GAN(GANConfig(), image_info(size))
    with pytest.raises(ValueError, match="needs image data"):
        GAN(GANConfig(arch="dcgan"), DataInfo(shape=(2,), kind="vector", value_range=None))


def test_mlp_for_vector_data_trains_a_step():
    info = DataInfo(shape=(2,), kind="vector", value_range=None)
    model = GAN(GANConfig(hidden=16, latent_dim=4), info)
    opts = model.configure_optimizers()
    before = [p.detach().clone() for p in model.parameters()]
    losses = model.train_step((torch.randn(32, 2), None), opts)
    assert set(losses) == {"loss_d", "loss_g", "d_real", "d_fake"}
    assert all(torch.isfinite(torch.as_tensor(v)) for v in losses.values())
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert model.sample(5).shape == (5, 2)


def test_optimizers_use_dcgan_defaults():
    model = GAN(GANConfig(ngf=8, ndf=8), image_info(8))
    opts = model.configure_optimizers()
    assert set(opts) == {"generator", "discriminator"}
    group = opts["generator"].param_groups[0]
    assert group["lr"] == 2e-4 and tuple(group["betas"]) == (0.5, 0.999)


def test_cgan_labels_change_the_output_and_are_validated():
    model = CGAN(GANConfig(ngf=8, ndf=8, latent_dim=6), image_info(8, classes=10))
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    a, b = model.sample(4, labels=0, generator=g()), model.sample(4, labels=5, generator=g())
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match=r"class indices in \[0, 9\]"):
        model.sample(2, labels=[0, 10])
    with pytest.raises(ValueError, match="expected 1 or 2 labels"):
        model.sample(2, labels=[0, 1, 2])


def test_export_module_is_the_generator_with_z_and_labels_inputs():
    model = CGAN(GANConfig(ngf=8, ndf=8, latent_dim=6), image_info(8, classes=10)).eval()
    module, inputs, names, outputs = model.export_module()
    assert names == ["z", "labels"] and outputs == ["samples"]
    assert inputs[0].dtype == torch.float32 and inputs[1].dtype == torch.int64
    with torch.no_grad():
        out = module(*inputs)
        assert torch.equal(out, model.generate(*inputs))
    assert out.shape == (2, 1, 8, 8)
    assert not any(p is q for p in module.parameters() for q in model.discriminator.parameters())
    _, inputs, names, _ = GAN(GANConfig(ngf=8, ndf=8), image_info(8)).export_module()
    assert names == ["z"] and len(inputs) == 1


def test_packing_judges_consecutive_samples_together_and_trims_batches():
    model = GAN(GANConfig(ngf=8, ndf=8, pack=2), image_info(8)).eval()
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    logits = model.discriminator(x)
    assert logits.shape == (3,)
    y = x.clone()
    y[1] = torch.rand(1, 8, 8)  # the second sample of the first pack
    changed = model.discriminator(y) != logits
    assert changed.tolist() == [True, False, False]
    model.train()
    opts = model.configure_optimizers()
    losses = model.train_step((torch.rand(7, 1, 8, 8), None), opts)  # 7 -> 6 samples
    assert torch.isfinite(losses["loss_d"])
    with pytest.raises(genforge.ConfigError, match="model.pack = 2: larger than the batch"):
        model.train_step((torch.rand(1, 1, 8, 8), None), opts)
    vec = GAN(GANConfig(pack=4, hidden=8, latent_dim=2), DataInfo(shape=(2,), kind="vector"))
    assert vec.discriminator(torch.randn(8, 2)).shape == (2,)


def test_projection_discriminator_scores_the_label():
    model = CGAN(GANConfig(ngf=8, ndf=8, projection=True), image_info(16, classes=10)).eval()
    assert model.discriminator.projection.weight.shape == (10, 16)  # ndf * 2 at 4x4
    x = torch.rand(4, 1, 16, 16)
    a = model.discriminator(x, torch.tensor([0, 1, 2, 3]))
    b = model.discriminator(x, torch.tensor([3, 1, 2, 0]))
    assert (a != b).tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match="model.projection = true: scores labels, so it needs cgan"):
        GAN(GANConfig(ngf=8, ndf=8, projection=True), image_info(16))
    mlp = CGAN(GANConfig(arch="mlp", hidden=8, projection=True, pack=2), image_info(8, classes=10))
    losses = mlp.train_step((torch.rand(4, 1, 8, 8), torch.tensor([1, 2, 3, 4])), mlp.configure_optimizers())
    assert torch.isfinite(losses["loss_g"])


def test_spectral_norm_replaces_batchnorm_in_the_discriminator():
    model = GAN(GANConfig(ngf=8, ndf=8, spectral_norm=True), image_info(16))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())
    opts = model.configure_optimizers()
    for _ in range(3):
        model.train_step((torch.rand(8, 1, 16, 16), None), opts)
    convs = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:  # the power iteration keeps every weight's largest singular value near 1
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), 2)
        assert 0.5 < sigma < 1.05
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.generator.modules())


def test_checkpoints_from_before_an_option_existed_still_load_and_resume(tmp_path):
    """Keys missing from a saved config take the field default (what the run was trained with),
    not the family's current suggestion (projection on for cgan)."""
    cfg = {"model": {"name": "cgan", "ngf": 8, "ndf": 8, "latent_dim": 4, "projection": False},
           "data": {"name": "digits", "size": 8}, "out": str(tmp_path / "old"),
           "trainer": {"steps": 2, "batch_size": 16, "progress": False}}
    run = genforge.train(cfg)
    config_file = run.checkpoint / CONFIG
    saved = json.loads(config_file.read_text())
    older = ("projection", "pack", "spectral_norm", "loss", "gp", "r1", "r2", "reg_every", "lecam",
             "diffaugment", "d_steps", "lr_g", "lr_d")  # options newer than the first release
    for key in older:
        del saved["model"][key]
    config_file.write_text(json.dumps(saved))
    loaded = genforge.load(run.out, device="cpu")
    assert loaded.model.discriminator.projection is None and loaded.sample(3).shape == (3, 1, 8, 8)
    resumed = genforge.train({"out": str(run.out)}, resume=True, steps=3)
    assert resumed.config.model.projection is False and resumed.step == 3
    fresh = genforge.train({**cfg, "model": {k: v for k, v in cfg["model"].items() if k != "projection"},
                            "out": str(tmp_path / "new")})
    assert fresh.config.model.projection is True


VECTORS = DataInfo(shape=(2,), kind="vector", value_range=None)


@pytest.mark.parametrize("reg_every", [1, 3])
def test_lazy_r1_runs_every_k_discriminator_steps_at_k_times_half_gamma(reg_every):
    """The discriminator's loss is the objective plus ``gamma / 2 * k * E|grad D(x)|^2`` every k-th step."""
    model = GAN(GANConfig(arch="mlp", hidden=8, layers=1, latent_dim=2, r1=2.0, reg_every=reg_every), VECTORS)
    opts = model.configure_optimizers()
    x = torch.randn(8, 2)
    for step in range(4):
        d, g = copy.deepcopy(model.discriminator), copy.deepcopy(model.generator)
        torch.manual_seed(step)
        fake = g(torch.randn(8, 2))
        real_in = x.clone().requires_grad_(True)
        real_scores = d(real_in)
        expected = discriminator_loss("nonsaturating", real_scores, d(fake))
        if step % reg_every == 0:
            (grad,) = torch.autograd.grad(real_scores.sum(), real_in)
            expected = expected + 0.5 * 2.0 * reg_every * grad.pow(2).sum(1).mean()
        torch.manual_seed(step)
        losses = model.train_step((x, None), opts)
        assert losses["loss_d"].item() == pytest.approx(expected.item(), rel=1e-5)
        assert int(model.d_updates) == step + 1


def test_lecam_anchors_follow_the_scores_and_join_the_loss():
    model = GAN(GANConfig(arch="mlp", hidden=8, layers=1, latent_dim=2, lecam=0.5), VECTORS)
    x = torch.randn(8, 2)
    d, g = copy.deepcopy(model.discriminator), copy.deepcopy(model.generator)
    torch.manual_seed(0)
    fake = g(torch.randn(8, 2))
    real_scores, fake_scores = d(x), d(fake)
    anchor_real, anchor_fake = 0.01 * real_scores.mean(), 0.01 * fake_scores.mean()  # from 0, decay 0.99
    expected = (discriminator_loss("nonsaturating", real_scores, fake_scores)
                + 0.5 * lecam_penalty(real_scores, fake_scores, anchor_real, anchor_fake))
    torch.manual_seed(0)
    losses = model.train_step((x, None), model.configure_optimizers())
    assert model.lecam_real.item() == pytest.approx(anchor_real.item(), rel=1e-5)
    assert model.lecam_fake.item() == pytest.approx(anchor_fake.item(), rel=1e-5)
    assert losses["loss_d"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_separate_learning_rates_and_discriminator_steps_per_generator_step():
    model = GAN(GANConfig(arch="mlp", hidden=8, latent_dim=2, lr=1e-3, lr_d=4e-4, d_steps=3), VECTORS)
    opts = model.configure_optimizers()
    assert opts["discriminator"].param_groups[0]["lr"] == 4e-4
    assert opts["generator"].param_groups[0]["lr"] == 1e-3  # lr_g unset: lr
    model.train_step((torch.randn(8, 2), None), opts)
    model.train_step((torch.randn(8, 2), None), opts)
    adam_steps = {name: {int(s["step"]) for s in opt.state.values()} for name, opt in opts.items()}
    assert adam_steps == {"discriminator": {6}, "generator": {2}}


def test_options_it_cannot_train_are_refused_in_one_line():
    cases = [({"loss": "wasserstein"}, "model.loss = 'wasserstein': the critic must be Lipschitz"),
             ({"projection": True}, "model.projection = true: scores labels, so it needs cgan")]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            GAN(GANConfig(ngf=8, ndf=8, **options), image_info(8))
    GAN(GANConfig(ngf=8, ndf=8, loss="wasserstein", spectral_norm=True), image_info(8))  # Lipschitz by SN
    with pytest.raises(genforge.ConfigError, match="model.loss = 'bce': input should be"):
        genforge.train({"model": {"name": "gan", "loss": "bce"}}, steps=1)


def test_resume_with_lecam_and_lazy_r1_is_exact_and_their_state_is_in_the_checkpoint(tmp_path):
    model = {"name": "cgan", "ngf": 8, "ndf": 8, "latent_dim": 4, "lecam": 0.1, "r1": 1.0, "reg_every": 3,
             "diffaugment": "translation"}

    def config(out):
        return {"model": model, "data": {"name": "digits", "size": 8}, "out": str(tmp_path / out),
                "trainer": {"steps": 5, "batch_size": 16, "progress": False, "checkpoint_every": 2,
                            "sample_every": 0, "lr_decay": "none"}}
    whole = genforge.train(config("whole"))
    genforge.train(config("parts"), steps=2)
    resumed = genforge.train(config("parts"), resume=True)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert whole.metrics == resumed.metrics
    saved = SavedRun.open(whole.out).weights()
    assert int(saved["d_updates"]) == 5 and saved["lecam_real"].item() != 0.0
    assert torch.equal(saved["lecam_fake"], a["lecam_fake"])


def digit_classifier():
    """An SVC trained on the real 8x8 digits (train split), inputs in [0, 1]."""
    from sklearn.svm import SVC

    from genforge.data.digits import DigitsConfig, load

    data = load(DigitsConfig(size=8))
    clf = SVC(gamma="scale").fit(data.train.x.reshape(len(data.train), -1).numpy(),
                                 data.train.y.numpy())
    test_acc = clf.score(data.test.x.reshape(len(data.test), -1).numpy(), data.test.y.numpy())
    assert test_acc > 0.97
    return clf


@pytest.mark.slow
def test_demo_cgan_draws_the_requested_digits(tmp_path):
    """The demo's default cgan run: >= 90% of samples are classified as the requested class."""
    run = genforge.train({"model": {"name": "cgan"}, "out": str(tmp_path / "demo"),
                          "trainer": {"progress": False}})
    loaded = genforge.load(run.out, device="cpu")
    labels = torch.arange(10).repeat_interleave(20)
    samples = loaded.sample(len(labels), labels=labels, seed=0)
    small = F.avg_pool2d(samples, samples.shape[-1] // 8)  # back to the native 8x8
    predicted = digit_classifier().predict(small.reshape(len(small), -1).numpy())
    accuracy = float(np.mean(predicted == labels.numpy()))
    print(f"demo cgan class accuracy: {accuracy:.3f}")
    assert accuracy >= 0.90
