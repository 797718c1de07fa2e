"""The family's suggested run sections reach a resolved config, per data source; the networks
its defaults build per data shape."""

from __future__ import annotations

import pytest
import torch

from genforge import ConfigError, DataInfo
from genforge.config import ResolvedConfig, build_raw, resolve
from genforge.plugins import default_plugins
from genforge_diffusion.config import DiffusionConfig
from genforge_diffusion.model import CDDPM, CFM, DDPM, FM
from genforge_diffusion.nets import UNet


def resolved(model: str, **raw: object) -> ResolvedConfig:
    """``model``'s config resolved with the installed plugins' suggestions under ``raw``."""
    return resolve(build_raw({"model": {"name": model}, **raw}), default_plugins())


def test_digits_suggestions():
    cfg = resolved("cfm")
    assert cfg.run.trainer.lr_decay == "cosine" and cfg.run.trainer.ema_decay == 0.999
    assert cfg.model.time_sampling == "logit_normal"
    assert (cfg.sampler.sampler, cfg.sampler.steps, cfg.sampler.guidance) == ("heun", 10, 1.1)
    ddpm = resolved("ddpm").sampler
    assert (ddpm.sampler, ddpm.steps) == ("ddpm", 50)


def test_toy2d_suggestions_and_the_users_values_win():
    cfg = resolved("fm", data={"name": "toy2d", "dataset": "25gaussians"})
    assert cfg.model.time_sampling == "uniform" and cfg.model.data_std == 2.0
    assert cfg.sampler.steps == 20 and cfg.run.trainer.batch_size == 256
    mine = resolved("fm", data={"name": "toy2d"}, sampler={"steps": 7, "sampler": "euler"})
    assert (mine.sampler.sampler, mine.sampler.steps) == ("euler", 7)


@pytest.mark.parametrize(("shape", "kind", "widths", "positions"), [
    ((1, 8, 8), "image", [32, 64], 16),  # the digits' defaults, as published
    ((1, 16, 16), "image", [32, 64], 64),
    ((1, 28, 28), "image", [32, 64, 128], 49),  # MNIST: 28 -> 14 -> 7
    ((3, 32, 32), "image", [32, 64, 128], 64),  # CIFAR: 32 -> 16 -> 8
    ((3, 26, 26), "image", [32, 64], 169),  # 26 does not halve twice
    ((1, 256), "signal", [32, 64], 128),
])
@pytest.mark.parametrize("family", [DDPM, CDDPM, FM, CFM])
def test_auto_widths_follow_the_data_shape(family, shape, kind, widths, positions):
    info = DataInfo(shape=shape, kind=kind, value_range=(0.0, 1.0) if kind == "image" else (-1.0, 1.0),
                    num_classes=10)
    net = family(DiffusionConfig(), info).net
    assert isinstance(net, UNet) and net.attn is not None
    assert [b.conv2.out_channels for b in net.down] == widths
    seen = []
    net.attn.register_forward_hook(lambda _m, args, _out: seen.append(args[0][0, 0].numel()))
    labels = torch.zeros(1, dtype=torch.long) if family.conditional else None
    with torch.no_grad():
        assert net(torch.randn(1, *shape), torch.zeros(1), labels).shape == (1, *shape)
    assert seen == [positions]  # what the attention attends over


@pytest.mark.parametrize("widths", [[], [8] * 5, [0, 8], "wide"])
def test_widths_other_than_auto_or_1_to_4_levels_are_one_message(widths):
    with pytest.raises(ConfigError, match=r"^model\.widths = .*: expected 'auto' or 1 to 4 positive "
                                          "channel counts, finest first$"):
        resolve(build_raw({"model": {"name": "ddpm", "widths": widths}}), default_plugins())
