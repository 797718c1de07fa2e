"""The step networks: shapes, the sizes and widths they accept, time and label inputs."""

from __future__ import annotations

import pytest
import torch

from genforge_diffusion.nets import MLP, Attention, Embedding, UNet


def unet(size: int = 8, channels: int = 1, widths: list[int] | None = None, labels: int = 0,
         **kw: object) -> UNet:
    """A tiny U-Net for ``[channels, size, size]`` images."""
    args = {"blocks": 1, "attention": True, "heads": 2, "groups": 4, "emb": 16, "time_scale": 1e-3,
            "num_labels": labels, **kw}
    return UNet((channels, size, size), widths or [8, 16], **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("size", "channels", "widths", "blocks"),
                         [(8, 1, [8, 16], 1), (16, 3, [8, 16, 16], 2), (32, 1, [8], 1),
                          (64, 3, [4, 8, 8, 8], 1)])
def test_unet_keeps_the_image_shape(size: int, channels: int, widths: list[int], blocks: int) -> None:
    net = unet(size, channels, widths, blocks=blocks)
    x = torch.randn(3, channels, size, size)
    assert net(x, torch.tensor([0.0, 500.0, 999.0])).shape == x.shape


def test_unet_depends_on_time_and_labels_from_the_start() -> None:
    torch.manual_seed(0)
    net = unet(labels=11)  # untrained: the conformance kit checks labels on a fresh model
    x, t, y = torch.randn(2, 1, 8, 8), torch.tensor([10.0, 10.0]), torch.tensor([3, 3])
    base = net(x, t, y)
    assert not torch.allclose(base, net(x, torch.tensor([900.0, 900.0]), y))
    assert not torch.allclose(base, net(x, t, torch.tensor([10, 10])))  # 10: the null label
    assert torch.allclose(base[0], net(x[:1], t[:1], y[:1])[0], atol=1e-5)  # rows are independent


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"size": 4}, "8 to 64"), ({"size": 128, "widths": [4]}, "8 to 64"),
    ({"widths": [8, 8, 8, 8]}, "fewer levels"), ({"widths": [6, 16]}, "must divide every width"),
    ({"heads": 3}, "must divide the attention width"),
])
def test_unet_rejects_what_it_cannot_build(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        unet(**kwargs)  # type: ignore[arg-type]


def test_unet_rejects_non_square_images() -> None:
    with pytest.raises(ValueError, match="square"):
        UNet((1, 8, 16), [8], 1, False, 1, 4, 16, 1.0)


def test_unet_without_attention_has_none() -> None:
    assert unet(attention=False).attn is None
    assert isinstance(unet().attn, Attention)


def test_conditional_networks_need_labels() -> None:
    with pytest.raises(ValueError, match="needs labels"):
        unet(labels=11)(torch.randn(2, 1, 8, 8), torch.zeros(2))


def test_embedding_scales_time_into_the_unit_interval() -> None:
    torch.manual_seed(0)
    a, b = Embedding(16, 1e-3), Embedding(16, 1.0)
    b.load_state_dict(a.state_dict())
    assert torch.allclose(a(torch.tensor([250.0])), b(torch.tensor([0.25])), atol=1e-5)


def test_mlp_keeps_the_vector_shape_and_uses_labels() -> None:
    torch.manual_seed(0)
    net = MLP(2, 32, 2, 16, 1.0, num_labels=26)
    x, t = torch.randn(4, 2), torch.rand(4)
    out = net(x, t, torch.zeros(4, dtype=torch.long))
    assert out.shape == x.shape
    assert not torch.allclose(out, net(x, t, torch.full((4,), 25)))


@pytest.mark.parametrize(("channels", "length", "widths"),
                         [(1, 64, [8, 16]), (2, 24, [8, 8, 16]), (1, 9, [8])])
def test_a_signal_gets_a_unet_of_1d_convolutions_that_keeps_its_shape(channels: int, length: int,
                                                                      widths: list[int]) -> None:
    torch.manual_seed(0)
    net = UNet((channels, length), widths, 1, True, 2, 4, 16, 1.0, num_labels=4)  # 3: the null label
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]
    assert convs and all(isinstance(m, torch.nn.Conv1d) for m in convs)
    x, t = torch.randn(3, channels, length), torch.rand(3)
    out = net(x, t, torch.tensor([0, 1, 2]))
    assert out.shape == x.shape
    assert not torch.allclose(out, net(x, t, torch.tensor([3, 3, 3])))  # labels reach it


@pytest.mark.parametrize(("shape", "widths", "attention", "message"), [
    ((1, 100), [8, 8, 8, 8], True, r"3 times; use fewer levels or a length that is a multiple of 8"),
    ((1, 4096), [8, 8], True, r"model\.attention: .* 2048 positions .* more than 1024"),
    ((1, 2, 3, 4), [8], False, r"needs \[C, H, W\] images or \[C, L\] signals"),
])
def test_a_signal_unet_names_the_option_it_cannot_build_with(shape: tuple[int, ...], widths: list[int],
                                                              attention: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UNet(shape, widths, 1, attention, 1, 4, 16, 1.0)
    if attention:
        assert UNet((1, 4096), [8, 8, 8, 8], 1, True, 1, 4, 16, 1.0).attn is not None  # 512 positions
