"""Checkpoints written by earlier releases keep loading, sampling and resuming.

``fixtures/format1-vae`` is a run folder written by genforge 0.1.0 (checkpoint format 1:
no format version key) by ``genforge train --model vae --steps 2 --out format1-vae
--set model.hidden=8 --set model.latent_dim=2 --set model.layers=1
--set trainer.ema_decay=0.9 --set trainer.batch_size=16``.
"""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from pathlib import Path

import pytest
import torch

import genforge
from genforge.checkpoint import CONFIG, DATA_INFO_KEY, FORMAT, FORMAT_KEY, SavedRun
from genforge.errors import CheckpointError

FORMAT1 = Path(__file__).parent / "fixtures" / "format1-vae"


def test_a_format1_run_loads_with_its_ema_and_samples():
    loaded = genforge.load(FORMAT1, device="cpu")
    assert loaded.saved is not None and loaded.saved.meta.family == "genforge-vae"
    assert loaded.saved.meta.step == 2 and loaded.saved.meta.genforge_version == "0.1.0"
    assert loaded.saved.meta.family_version == "" and loaded.saved.meta.written_by == "genforge-vae"
    assert loaded.ema and loaded.config.run.model.name == "vae"
    assert loaded.info.shape == (1, 8, 8) and loaded.info.num_classes == 10
    a = loaded.sample(6, seed=3)
    assert a.shape == (6, 1, 8, 8) and torch.isfinite(a).all()
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    assert torch.equal(a, loaded.sample(6, seed=3))
    raw = genforge.load(FORMAT1, device="cpu", ema=False)
    assert not raw.ema and not torch.equal(a, raw.sample(6, seed=3))


def test_a_format1_run_resumes_and_writes_the_current_format(tmp_path):
    run_dir = tmp_path / "format1-vae"
    shutil.copytree(FORMAT1, run_dir)
    assert FORMAT_KEY not in json.loads((SavedRun.open(run_dir).path / CONFIG).read_text())
    run = genforge.train({"out": str(run_dir)}, resume=True, overrides=["trainer.steps=3"])
    assert run.step == 3 and run.config.run.model.hidden == 8
    saved = SavedRun.open(run_dir)
    assert saved.path.name == "step-000003" and saved.meta.step == 3
    assert saved.meta.written_by == f"genforge-vae {version('genforge-vae')}"
    assert json.loads((saved.path / CONFIG).read_text())[FORMAT_KEY] == FORMAT
    assert genforge.load(run_dir, device="cpu").sample(2, seed=0).shape == (2, 1, 8, 8)


@pytest.mark.parametrize(("change", "message"), [
    ({FORMAT_KEY: FORMAT + 1}, "newer than this genforge"),
    ({FORMAT_KEY: "2"}, "expected a format number"),
    ({DATA_INFO_KEY: {"kind": "image"}}, "malformed data_info"),
])
def test_a_config_this_release_cannot_read_is_one_clear_error(tmp_path, change, message):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(SavedRun.open(FORMAT1).path, ckpt)
    config = json.loads((ckpt / CONFIG).read_text())
    (ckpt / CONFIG).write_text(json.dumps({**config, **change}))
    with pytest.raises(CheckpointError, match=message):
        genforge.load(ckpt, device="cpu")
