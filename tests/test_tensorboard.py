"""The TensorBoard logger: losses, learning rates, evaluations and grids, read back with tensorboard."""

from __future__ import annotations

import json
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import genforge
from genforge.errors import ConfigError


def config(tmp_path, steps=6, **trainer):
    return {"model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
            "data": {"name": "digits", "size": 8}, "out": str(tmp_path / "run"),
            "trainer": {"steps": steps, "batch_size": 32, "progress": False, "log_every": 2,
                        "sample_every": 3, "checkpoint_every": 3, "loggers": ["tensorboard"],
                        "lr_decay": "linear", **trainer}}


def events(run_dir) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_the_event_file_mirrors_the_log_and_the_grids(tmp_path):
    genforge.train(config(tmp_path, eval_every=3, eval_metrics=["fd"], eval_n=64))
    acc = events(tmp_path / "run")
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").open()]
    train = [x for x in lines if "kind" not in x]
    for key in ("loss_d", "loss_g", "samples_per_s"):
        got = [(e.step, round(e.value, 6)) for e in acc.Scalars(f"train/{key}")]
        assert got == [(x["step"], pytest.approx(x[key], rel=1e-6)) for x in train], key
    assert [e.step for e in acc.Scalars("eval/fd")] == [3, 6]
    assert [e.step for e in acc.Scalars("floor/fd")] == [0]
    lrs = {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]
           if tag.startswith("lr/")}
    assert set(lrs) == {"lr/generator", "lr/discriminator"}
    first, last = lrs["lr/generator"][0], lrs["lr/generator"][-1]
    assert first[0] == 2 and last[0] == 6 and last[1] < first[1]  # linear decay, as trained
    images = acc.Images("samples")
    assert [i.step for i in images] == [3, 6] and images[0].height > 0


def test_a_resumed_run_continues_the_same_event_log(tmp_path):
    genforge.train(config(tmp_path, steps=3))
    genforge.train(config(tmp_path, steps=6), resume=True)
    steps = [e.step for e in events(tmp_path / "run").Scalars("train/loss_d")]
    assert steps == [2, 3, 4, 6]


def test_without_the_package_it_is_a_one_line_config_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ConfigError, match=r"^trainer.loggers = \['tensorboard'\] needs the tensorboard "
                       r"package: pip install 'genforge\[tensorboard\]'$"):
        genforge.train(config(tmp_path))


def test_not_asked_for_nothing_is_written(tmp_path):
    genforge.train(config(tmp_path, loggers=[]))
    assert not (tmp_path / "run" / "tensorboard").exists()
