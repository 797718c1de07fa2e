"""genforge publish: a folder holding exactly the listed files, which loads, samples and never
touches the network."""

from __future__ import annotations

import hashlib
import json
import socket

import pytest
import torch
from huggingface_hub.repocard import metadata_load
from PIL import Image

import genforge
from genforge.cli import main
from genforge.publish import published_files

TINY_CGAN = {"model": {"name": "cgan", "latent_dim": 8, "ngf": 8, "ndf": 8},
             "data": {"name": "digits", "size": 8},
             "trainer": {"steps": 4, "batch_size": 32, "progress": False, "sample_every": 0,
                         "checkpoint_every": 2, "log_every": 2, "ema_decay": 0.9}}


@pytest.fixture
def run(tmp_path):
    genforge.train({**TINY_CGAN, "out": str(tmp_path / "run")})
    return tmp_path / "run"


def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("publishing tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_copy_holds_exactly_the_listed_files_loads_and_samples_like_the_run(run, tmp_path, capsys,
                                                                                monkeypatch):
    assert main(["eval", str(run), "--n", "50", "--seeds", "2", "--metrics", "fd", "--device", "cpu"]) == 0
    (run / "notes.txt").write_text("not for the hub")
    no_network(monkeypatch)
    out = tmp_path / "hub" / "cgan-digits"
    assert main(["publish", str(run), "--out", str(out), "--set", "card.license=mit"]) == 0
    assert "published step 4" in capsys.readouterr().out
    listed = published_files("cgan", ema=True, onnx=False)
    assert listed == ["README.md", "config.json", "model.safetensors", "ema.safetensors", "grid.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(listed)
    assert [p.name for p in out.parent.iterdir()] == ["cgan-digits"]  # no temporary folder left
    ckpt = run / "checkpoints" / "step-000004"
    for name in ("model.safetensors", "ema.safetensors"):
        assert (out / name).read_bytes() == (ckpt / name).read_bytes()
    assert (out / "grid.png").read_bytes() == (run / "samples" / "step-000004.png").read_bytes()
    config = json.loads((out / "config.json").read_text())
    assert config["card"]["license"] == "mit" and config["_step"] == 4
    assert json.loads((ckpt / "config.json").read_text())["card"]["license"] == "unknown"  # run untouched

    published, trained = genforge.load(out, device="cpu"), genforge.load(run, device="cpu")
    assert published.ema and published.saved.meta.step == 4
    labels = list(range(10))
    assert torch.equal(published.sample(10, labels=labels, seed=3), trained.sample(10, labels=labels, seed=3))

    meta = metadata_load(out / "README.md")
    assert meta["license"] == "mit" and "onnx" not in meta["tags"]
    card = (out / "README.md").read_text()
    assert "![samples at step 4, one row per class](grid.png)" in card
    assert "`genforge eval` of step 4" in card and "| `fd` |" in card  # the eval of these weights
    assert "train.lock" not in card and "checkpoints/" not in card and "genforge publish" not in card


def test_with_onnx_the_copy_holds_an_export_of_its_own_weights(run, tmp_path, monkeypatch):
    genforge_runtime = pytest.importorskip("genforge_runtime")
    pytest.importorskip("genforge_onnx")
    no_network(monkeypatch)
    out = tmp_path / "hub"
    assert main(["publish", str(run), "--out", str(out), "--onnx"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(published_files("cgan", ema=True, onnx=True))
    info = genforge_runtime.load(out / "cgan.onnx", device="cpu").info
    assert info["source_sha256"] == hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    assert "onnx" in metadata_load(out / "README.md")["tags"]
    assert "genforge-run path/to/this/folder/cgan.onnx" in (out / "README.md").read_text()


def test_a_step_without_a_grid_gets_one_drawn_and_no_eval_of_other_weights(run, tmp_path):
    assert main(["eval", str(run), "--n", "50", "--seeds", "2", "--metrics", "fd", "--device", "cpu"]) == 0
    out = tmp_path / "hub"
    assert main(["publish", str(run / "checkpoints" / "step-000002"), "--out", str(out)]) == 0
    assert not (run / "samples" / "step-000002.png").exists()
    assert Image.open(out / "grid.png").size == Image.open(run / "samples" / "step-000004.png").size
    card = (out / "README.md").read_text()
    assert "for 2 of 4 steps" in card and "Losses at step 2:" in card
    assert "`genforge eval`" not in card  # the recorded evaluation is of step 4


@pytest.mark.parametrize("args,message", [
    (["--set", "trainer.steps=9"], "--set 'trainer.steps=9': only card.KEY=VALUE options change when "
                                   "publishing"),
    (["--set", "card.license=Apache"], "card.license = 'Apache': expected a license id of the Hub"),
])
def test_bad_input_is_one_line_and_writes_nothing(run, tmp_path, capsys, args, message):
    out = tmp_path / "hub"
    assert main(["publish", str(run), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_out_folder_holding_anything_is_refused(run, tmp_path, capsys):
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "keep.txt").write_text("mine")
    assert main(["publish", str(run), "--out", str(tmp_path / "hub")]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "hub").iterdir()] == ["keep.txt"]
