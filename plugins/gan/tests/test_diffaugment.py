"""DiffAugment: the same policy on reals and fakes, differentiable, seeded, and off when empty."""

from __future__ import annotations

import pytest
import torch

import genforge
from genforge import DataInfo
from genforge_gan.config import DIFFAUGMENT_OPS, GANConfig
from genforge_gan.diffaugment import OPS, Draws, apply, diff_augment, draw
from genforge_gan.model import CGAN, GAN

ALL = ("color", "translation", "cutout")


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_the_config_and_the_module_name_the_same_transforms():
    assert tuple(OPS) == DIFFAUGMENT_OPS == ALL


def test_an_empty_policy_is_the_identity():
    x = torch.rand(4, 1, 8, 8)
    assert diff_augment(x, ()) is x
    assert GAN(GANConfig(ngf=8, ndf=8), DataInfo(shape=(1, 8, 8), kind="image")).augment(x) is x


def test_the_same_generator_seed_gives_the_same_augmentation():
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    a, b = diff_augment(x, ALL, seeded(0)), diff_augment(x, ALL, seeded(0))
    assert torch.equal(a, b) and not torch.equal(a, diff_augment(x, ALL, seeded(1)))
    torch.manual_seed(5)  # without a generator: torch's global RNG, which the trainer seeds
    c = diff_augment(x, ALL)
    torch.manual_seed(5)
    assert torch.equal(c, diff_augment(x, ALL))


def test_one_draw_transforms_reals_and_fakes_alike_when_shared():
    real, fake = torch.rand(5, 1, 16, 16), torch.rand(5, 1, 16, 16)
    draws = draw(ALL, 5, (16, 16), seeded(3))
    both = apply(torch.cat([real, real]), Draws(10, (16, 16), {k: torch.cat([v, v])
                                                             for k, v in draws.params.items()}))
    assert torch.equal(apply(real, draws), both[:5]) and torch.equal(both[:5], both[5:])
    assert not torch.equal(apply(real, draws), apply(fake, draws))
    with pytest.raises(ValueError, match=r"draws for 5 images of \(16, 16\)"):
        apply(torch.rand(4, 1, 16, 16), draws)


def test_gradients_flow_through_every_transform():
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    draws = draw(ALL, 2, (8, 8), seeded(0))
    assert torch.autograd.gradcheck(lambda t: apply(t, draws), (x,))
    out = diff_augment(x, ALL, seeded(0))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_the_content_by_the_drawn_shift_and_fills_zeros():
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 8, 8] = 1.0
    out = apply(x, Draws(1, (16, 16), {"translation": torch.tensor([[2, -1]])}))
    assert out[0, 0, 6, 9] == 1.0 and out.sum() == 1.0  # out[i, j] = x[i + 2, j - 1]
    shifts = draw(("translation",), 1000, (16, 16), seeded(0)).params["translation"]
    assert shifts.min() == -2 and shifts.max() == 2  # 1/8 of a side


def test_cutout_zeroes_a_square_of_half_a_side():
    x = torch.ones(1, 1, 16, 16)
    out = apply(x, Draws(1, (16, 16), {"cutout": torch.tensor([[8, 8]])}))
    assert (out[0, 0, 4:12, 4:12] == 0).all() and out.sum() == 256 - 64


def test_color_shifts_a_flat_grey_image_by_its_brightness_draw():
    x = torch.full((4, 1, 8, 8), 0.25)  # one channel and flat: saturation and contrast change nothing
    draws = draw(("color",), 4, (8, 8), seeded(0))
    brightness = draws.params["color"][:, 0]
    assert ((brightness >= -0.5) & (brightness < 0.5)).all()
    assert torch.allclose(apply(x, draws), x + brightness[:, None, None, None])


def test_unknown_transforms_are_refused_by_the_config_and_the_function():
    with pytest.raises(genforge.ConfigError, match=r"model.diffaugment = 'color,flip': expected distinct"):
        genforge.train({"model": {"name": "gan", "diffaugment": "color,flip"}}, steps=1)
    with pytest.raises(ValueError, match="unknown transform 'flip'"):
        diff_augment(torch.rand(1, 1, 8, 8), ("flip",))
    assert GANConfig(diffaugment=" translation, color").diffaugment_policy() == ("translation", "color")


def test_vectors_and_signals_refuse_diffaugment_in_one_line():
    for shape, kind in (((2,), "vector"), ((1, 64), "signal")):
        with pytest.raises(ValueError, match="model.diffaugment = 'cutout': augments images only"):
            GAN(GANConfig(diffaugment="cutout"), DataInfo(shape=shape, kind=kind))


def test_the_discriminator_sees_augmented_images_and_the_generator_learns_through_them():
    model = CGAN(GANConfig(ngf=8, ndf=8, latent_dim=4, diffaugment="translation,cutout"),
                 DataInfo(shape=(1, 8, 8), kind="image", num_classes=10))
    seen = []
    model.discriminator.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    opts = model.configure_optimizers()
    torch.manual_seed(0)
    model.train_step((x, y), opts)
    assert len(seen) == 3  # reals, fakes, then fakes for the generator
    assert not torch.equal(seen[0], x * 2 - 1)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters())
