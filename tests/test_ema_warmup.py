"""EMA warm-up: a short run's averaged weights sample as well as its raw weights."""

from __future__ import annotations

import pytest

import genforge
from genforge.ema import warmup_decay
from genforge.evaluate import evaluate


def test_warmup_decay_follows_the_step_then_caps():
    assert warmup_decay(0.999, 0) == pytest.approx(0.1)
    assert warmup_decay(0.999, 8) == pytest.approx(0.5)
    assert warmup_decay(0.999, 100) == pytest.approx(101 / 110)
    assert warmup_decay(0.999, 100_000) == 0.999


@pytest.mark.slow
def test_a_100_step_gan_samples_as_well_with_ema_as_without(tmp_path):
    # the digits defaults of `gan` keep an EMA (0.999): without a warm-up, 100 steps gave one
    # grey image (per-pixel spread 0.0025 against 0.067 raw, FD 621)
    genforge.train({"model": {"name": "gan"}, "out": str(tmp_path / "run"),
                    "trainer": {"steps": 100, "progress": False, "sample_every": 0}})
    spread, fd = {}, {}
    for ema in (True, False):
        loaded = genforge.load(tmp_path / "run", device="cpu", ema=ema)
        assert loaded.ema == ema
        spread[ema] = loaded.sample(200, seed=0).std(0).mean().item()
        fd[ema] = evaluate(loaded, ["fd"], n=1000, seeds=1)["fd"]["mean"]
    assert spread[True] >= 0.7 * spread[False], spread
    assert fd[True] <= 1.25 * fd[False], fd
