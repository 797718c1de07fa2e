"""The family's suggested run sections reach a resolved config, per data source."""

from __future__ import annotations

from genforge.config import ResolvedConfig, build_raw, resolve
from genforge.plugins import default_plugins


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
