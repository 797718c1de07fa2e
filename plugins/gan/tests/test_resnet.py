"""The residual networks: sizes, conditional BatchNorm, the projection, spectral norm."""

from __future__ import annotations

import pytest
import torch

from genforge import DataInfo
from genforge_gan.config import GANConfig
from genforge_gan.model import CGAN, GAN
from genforge_gan.resnet import DownBlock, ResNetGenerator, UpBlock


def image_info(size: int, channels: int = 1, classes: int = 0) -> DataInfo:
    return DataInfo(shape=(channels, size, size), kind="image", num_classes=classes)


@pytest.mark.parametrize(("size", "blocks"), [(8, 1), (16, 2), (28, 2), (32, 3)])
def test_resnet_adapts_to_image_size(size, blocks):
    model = GAN(GANConfig(arch="resnet", ngf=4, ndf=4, latent_dim=6), image_info(size, 3))
    ups = [m for m in model.generator.modules() if isinstance(m, UpBlock)]
    downs = [m for m in model.discriminator.modules() if isinstance(m, DownBlock)]
    assert len(ups) == blocks and [d.down for d in downs] == [True] * blocks + [False]
    x = model.sample(3, generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 3, size, size) and 0.0 <= x.min() and x.max() <= 1.0
    assert model.discriminator(x * 2 - 1).shape == (3,)


def test_widths_follow_ngf_and_ndf():
    model = GAN(GANConfig(arch="resnet", ngf=8, ndf=8), image_info(32))
    gen = model.generator
    assert isinstance(gen, ResNetGenerator)
    assert [b.conv2.out_channels for b in gen.blocks] == [32, 16, 8]  # 4 ngf at 8x8 ... ngf at 32x32
    downs = [m for m in model.discriminator.modules() if isinstance(m, DownBlock)]
    assert [d.conv2.out_channels for d in downs] == [8, 16, 32, 32]


def test_cgan_labels_enter_the_generator_through_conditional_batchnorm():
    model = CGAN(GANConfig(arch="resnet", ngf=8, ndf=8, latent_dim=6), image_info(16, classes=10))
    gen = model.generator
    assert isinstance(gen, ResNetGenerator) and gen.linear.in_features == 6  # z alone
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    a, b = model.sample(4, labels=0, generator=g()), model.sample(4, labels=5, generator=g())
    assert not torch.allclose(a, b)
    model.generator.blocks[0].norm1.gain.weight.data[3] = 0.0  # class 3: its first block's input zeroed
    model.generator.blocks[0].norm1.bias.weight.data[3] = 0.0
    h = torch.randn(2, 16, 4, 4)
    out = model.generator.blocks[0].norm1(h, torch.tensor([3, 4]))
    assert (out[0] == 0).all() and not (out[1] == 0).all()


def test_the_projection_scores_the_label_and_spectral_norm_bounds_each_layer():
    model = CGAN(GANConfig(arch="resnet", ngf=8, ndf=8, projection=True, spectral_norm=True),
                 image_info(16, classes=10)).eval()  # eval: spectral norm's power iteration rests
    assert model.discriminator.projection.weight.shape == (10, 16)  # ndf * 2 after two down-blocks
    x = torch.rand(4, 1, 16, 16)
    a = model.discriminator(x, torch.tensor([0, 1, 2, 3]))
    b = model.discriminator(x, torch.tensor([3, 1, 2, 0]))
    assert (a != b).tolist() == [True, False, False, True]
    model.train()
    opts = model.configure_optimizers()
    for _ in range(3):
        model.train_step((torch.rand(8, 1, 16, 16), torch.arange(8)), opts)
    layers = [m for m in model.discriminator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), 2)
        assert 0.5 < sigma < 1.05
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())


def test_resnet_refuses_vectors_and_non_square_images():
    with pytest.raises(ValueError, match="model.arch = 'resnet': needs image data"):
        GAN(GANConfig(arch="resnet"), DataInfo(shape=(2,), kind="vector"))
    with pytest.raises(ValueError, match="model.arch = 'resnet': needs square images, got 8x16"):
        GAN(GANConfig(arch="resnet"), DataInfo(shape=(1, 8, 16), kind="image"))
    with pytest.raises(ValueError, match="resnet needs square images of 4 to 7 pixels doubled"):
        GAN(GANConfig(arch="resnet"), image_info(18))
