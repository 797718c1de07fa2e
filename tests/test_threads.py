"""``trainer.threads`` / ``--threads``: torch's CPU threads while training, restored after."""

from __future__ import annotations

import sys

import torch

import genforge
from genforge.cli import main


def config(tmp_path, **trainer):
    return {"model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
            "data": {"name": "digits", "size": 8}, "out": str(tmp_path / "run"),
            "trainer": {"steps": 2, "batch_size": 32, "progress": False, "sample_every": 0,
                        "device": "cpu", **trainer}}


def test_threads_apply_while_training_and_are_restored(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # as on a 2-core machine
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    genforge.train(config(tmp_path, threads=1))
    assert calls == [1, 2]  # one thread for the run, then torch's count again


def test_the_flag_sets_the_option_and_a_busy_machine_gets_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    monkeypatch.setattr("os.getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # the note is for a person at a terminal
    out = str(tmp_path / "a")
    assert main(["train", "--model", "gan", "--steps", "1", "--out", out, "--no-progress", "--device", "cpu",
                 "--set", "data.size=8", "--set", "model.ngf=8", "--set", "model.ndf=8"]) == 0
    assert ("genforge: note: this machine is busy (load 9.0 on 2 cores); --threads 1 (trainer.threads = 1) "
            "may train faster than torch's 2 threads") in capsys.readouterr().err
    out = str(tmp_path / "b")
    assert main(["train", "--model", "gan", "--steps", "1", "--out", out, "--no-progress", "--device", "cpu",
                 "--threads", "1", "--set", "data.size=8", "--set", "model.ngf=8",
                 "--set", "model.ndf=8"]) == 0
    assert "busy" not in capsys.readouterr().err
    assert genforge.load(out, device="cpu").config.run.trainer.threads == 1
