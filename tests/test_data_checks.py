"""Data sources are checked against their DataInfo: by the trainer at load, and by the kit."""

from __future__ import annotations

import pytest

import genforge
from genforge.errors import DataError
from genforge.plugins import Plugins
from genforge.testing import run_data_checks

SOURCE = """
from __future__ import annotations

from pydantic import BaseModel

import genforge
from genforge import hookimpl


class BadConfig(BaseModel):
    fault: str = "none"
    seed: int = 0


def load(config: BadConfig) -> genforge.Data:
    \"\"\"8x8 images in [0, 1] with 4 labelled classes, unless ``fault`` breaks one promise.\"\"\"
    import torch

    g = torch.Generator().manual_seed(config.seed)
    x, y = torch.rand(64, 1, 8, 8, generator=g), torch.arange(64) % 4
    info = dict(shape=(1, 8, 8), kind="image", num_classes=4, class_names=("a", "b", "c", "d"),
                num_train=48, num_test=16, name="bad")
    if config.fault == "shape":
        info["shape"] = (1, 16, 16)
    elif config.fault == "range":
        x = x * 255
    elif config.fault == "labels":
        y = y + 1
    elif config.fault == "names":
        info["class_names"] = ("a", "b")
    elif config.fault == "reject":
        raise ValueError("fault = 'reject': this source rejects its input")
    elif config.fault == "unseeded":
        x = torch.rand(64, 1, 8, 8)
    elif config.fault == "overlap":
        x[48:] = x[:16]
    train, test = genforge.TensorData(x[:48], y[:48]), genforge.TensorData(x[48:], y[48:])
    return genforge.Data(train, test, genforge.DataInfo(**info))


@hookimpl
def genforge_register_data_sources(register):
    register("bad", "bad_data:load", BadConfig, "a source that breaks one promise on request")
"""


@pytest.fixture
def plugins(fake_plugins) -> Plugins:
    """The installed plugins plus a fake distribution ``bad-data`` registering the source ``bad``."""
    fake_plugins({"bad-data": SOURCE})  # installed next to this environment's plugins
    return Plugins()


FAULTS = {
    "shape": "data source 'bad' (bad-data 1.0): train samples are 1x8x8 but DataInfo.shape is (1, 16, 16)",
    "range": "train values span [0.0",
    "labels": "train labels span 1..4 but DataInfo.num_classes is 4 (labels must be 0..3)",
    "names": "DataInfo.class_names has 2 names for num_classes = 4",
}


def run_config(tmp_path, fault: str) -> dict:
    return {"model": {"name": "cgan", "ngf": 8, "ndf": 8, "latent_dim": 4},
            "data": {"name": "bad", "fault": fault}, "out": str(tmp_path / "run"),
            "trainer": {"steps": 2, "batch_size": 16, "progress": False}}


@pytest.mark.parametrize("fault", [*FAULTS, "reject"])
def test_the_trainer_refuses_a_source_that_breaks_its_data_info(tmp_path, plugins, fault):
    with pytest.raises(DataError) as err:
        genforge.train(run_config(tmp_path, fault), plugins=plugins)
    message = str(err.value)
    assert "\n" not in message and message.startswith("data source 'bad' (bad-data 1.0): ")
    assert FAULTS.get(fault, "fault = 'reject': this source rejects its input") in message
    assert fault == "reject" or message.endswith(". Fix: make the source's tensors and its DataInfo agree")
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing trained


def test_the_command_line_says_it_in_one_line(tmp_path, plugins, monkeypatch, capsys):
    from genforge import api, cli

    for module in (api, cli):
        monkeypatch.setattr(module, "default_plugins", lambda: plugins)
    args = ["train", "--model", "cgan", "--data", "bad", "--set", "data.fault=labels", "--steps", "1",
            "--out", str(tmp_path / "run")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and FAULTS["labels"] in err


def test_a_good_source_trains(tmp_path, plugins):
    run = genforge.train(run_config(tmp_path, "none"), plugins=plugins)
    assert run.step == 2


def failures(results) -> dict[str, str]:
    return {r.check: r.message for r in results if r.status == "failed"}


@pytest.mark.parametrize("fault", FAULTS)
def test_the_kit_names_each_broken_promise(plugins, fault):
    failed = failures(run_data_checks("bad", plugins=plugins, options={"fault": fault},
                                      only=["splits_match_info"]))
    assert set(failed) == {"splits_match_info"}
    assert FAULTS[fault].split(": ", 1)[-1] in failed["splits_match_info"]
    assert failed["splits_match_info"].endswith("Fix: make the tensors and the DataInfo agree")


def test_the_kit_catches_unseeded_and_overlapping_splits(plugins):
    failed = failures(run_data_checks("bad", plugins=plugins, options={"fault": "unseeded"}))
    assert set(failed) == {"same_seed_same_splits"}
    assert "two runs with the same config gave different train splits" in failed["same_seed_same_splits"]
    failed = failures(run_data_checks("bad", plugins=plugins, options={"fault": "overlap"}))
    assert set(failed) == {"held_out_is_disjoint"}
    assert "16 held-out samples are also in the training split" in failed["held_out_is_disjoint"]


@pytest.mark.parametrize(("source", "options"), [("digits", {}), ("toy2d", {"n_train": 256, "n_test": 64}),
                                                 ("bad", {})])
def test_good_sources_pass_the_kit(plugins, source, options):
    results = run_data_checks(source, plugins=plugins, options=options)
    statuses = {r.check: r.status for r in results}
    if source != "bad":  # the built-in sources are registered in-process, not by an entry point
        assert statuses.pop("entry_module_is_light") == "not applicable"
    assert set(statuses.values()) == {"passed"} and len(statuses) == 7 - (source != "bad")
