"""Reliability: divergence, the run lock, torn logs, kills at random moments, memory, one-line errors."""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import genforge
from genforge import runlog
from genforge.checkpoint import find_checkpoint, read_tensors
from genforge.cli import main
from genforge.errors import CheckpointError, TrainingDiverged

TINY = {
    "model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
    "data": {"name": "digits", "size": 8},
    "trainer": {"steps": 6, "batch_size": 32, "progress": False, "log_every": 1, "sample_every": 0,
                "checkpoint_every": 2, "ema_decay": 0.0},
}


def tiny(out, **trainer):
    """The tiny GAN config writing to ``out``, with trainer changes."""
    cfg = json.loads(json.dumps(TINY))
    cfg["out"] = str(out)
    cfg["trainer"].update(trainer)
    return cfg


def cli(argv, capsys):
    """Run ``genforge argv`` in this process: (exit status, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    return code, capsys.readouterr().err


def one_line(err, prog="genforge"):
    """``err`` is exactly one error line of ``prog``, no traceback; return it."""
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"{prog}: error: "), err
    return err.strip()


def all_finite(ckpt):
    return all(bool(torch.isfinite(t).all()) for t in read_tensors(ckpt / "model.safetensors").values()
               if t.is_floating_point())


def test_a_diverging_run_exits_3_and_keeps_its_last_finite_checkpoint(tmp_path, capsys, monkeypatch):
    from genforge_gan.model import GAN

    original = GAN.train_step

    def diverge_at_step_5(self, batch, optimizers):  # as a too-high learning rate does, but on cue
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 5:
            with torch.no_grad():
                next(self.parameters()).fill_(float("nan"))
        return original(self, batch, optimizers)

    monkeypatch.setattr(GAN, "train_step", diverge_at_step_5)
    run = tmp_path / "run"
    code, err = cli(["train", "--model", "gan", "--out", run, "--steps", "20", "--no-progress",
                     "--set", "data.size=8", "--set", "model.ngf=8", "--set", "model.ndf=8",
                     "--set", "trainer.log_every=2", "--set", "trainer.checkpoint_every=2",
                     "--set", "trainer.keep_checkpoints=1", "--set", "trainer.batch_size=32"], capsys)
    line = one_line(err)
    assert code == 3 and re.search(r"training diverged at step 6: loss_\w = nan", line), line
    assert f"the last finite checkpoint {run / 'checkpoints' / 'step-000004'} is kept" in line
    assert find_checkpoint(run).name == "step-000004"
    assert [p.name for p in (run / "checkpoints").glob("step-*")] == ["step-000004"]
    assert all_finite(run / "checkpoints" / "step-000004")
    monkeypatch.undo()
    assert cli(["sample", run, "-n", "8", "--out", tmp_path / "s.npy"], capsys)[0] == 0
    assert np.isfinite(np.load(tmp_path / "s.npy")).all()


def test_the_guard_checks_weights_before_a_checkpoint(tmp_path, monkeypatch):
    run = genforge.train(tiny(tmp_path / "run", steps=2, checkpoint_every=2))
    with torch.no_grad():
        next(run.model.parameters()).fill_(float("inf"))
    from genforge.trainer import stop_if_diverged

    stop_if_diverged(run, {"loss": 1.0}, weights=False)  # the losses alone look fine
    with pytest.raises(TrainingDiverged, match="at step 2: weights = nan"):
        stop_if_diverged(run, {"loss": 1.0}, weights=True)
    with pytest.raises(TrainingDiverged, match="loss = inf"):
        stop_if_diverged(run, {"loss": torch.tensor(float("inf"))}, weights=False)


SLOW_TRAINER = """
import sys, time
import genforge_gan.model as m

original = m.GAN.train_step

def slow(self, *args, **kwargs):
    time.sleep(0.05)
    return original(self, *args, **kwargs)

m.GAN.train_step = slow
import genforge.trainer as t

checkpoint = t.save

def announce(run, optimizers):
    path = checkpoint(run, optimizers)
    print("SAVED", run.step, flush=True)
    return path

t.save = announce
import genforge
genforge.train({config!r})
"""


def test_a_second_trainer_on_the_same_folder_stops_at_once_naming_the_first(tmp_path, capsys):
    run = tmp_path / "run"
    cfg = tiny(run, steps=30, checkpoint_every=5)
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(SLOW_TRAINER.format(config=cfg)))
    first = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().split() == ["SAVED", "5"]
        for argv in (["train", "--out", run, "--resume", "--steps", "60"],
                     ["train", "--model", "gan", "--out", run, "--steps", "60"]):
            start = time.perf_counter()
            code, err = cli(argv, capsys)
            took = time.perf_counter() - start
            line = one_line(err)
            assert code == 2 and took < 2.0, (took, line)
            assert f"another trainer (pid {first.pid} on " in line
        assert first.wait(timeout=120) == 0
    finally:
        first.kill()
        first.wait()
    steps = [row["step"] for row in runlog.read(run / "metrics.jsonl")]
    assert steps == list(range(1, 31))
    assert find_checkpoint(run).name == "step-000030"
    assert genforge.load(run, device="cpu").sample(2, seed=0).shape == (2, 1, 8, 8)
    assert sorted(p.name for p in (run / "checkpoints").iterdir())[0] == "latest"


def test_a_torn_last_log_line_is_skipped_once_and_resume_rewrites_the_log(tmp_path):
    cfg = tiny(tmp_path / "run", steps=4)
    genforge.train(cfg)
    log = tmp_path / "run" / "metrics.jsonl"
    with log.open("a") as f:
        f.write('{"step": 38, "loss": 26.220129, "recon": 26.18')
    with pytest.warns(UserWarning, match="torn last line") as caught:
        genforge.train({**cfg, "trainer": {**cfg["trainer"], "steps": 6}}, resume=True)
    assert sum("torn" in str(w.message) for w in caught) == 1
    lines = log.read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5, 6]


def test_pruning_keeps_the_newest_and_clears_what_interrupted_saves_left(tmp_path):
    cfg = tiny(tmp_path / "run", steps=2, keep_checkpoints=1)
    genforge.train(cfg)
    root = tmp_path / "run" / "checkpoints"
    (root / ".latest.tmp-99999").write_text("step-000002\n")  # a kill between write and rename
    (root / ".tmp-step-000004-99999").mkdir()
    genforge.train({**cfg, "trainer": {**cfg["trainer"], "steps": 4}}, resume=True)
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-000004"]


def test_a_reader_is_told_when_its_checkpoint_was_pruned_meanwhile(tmp_path):
    with pytest.raises(CheckpointError, match="removed while being read .a running trainer pruned it"):
        read_tensors(tmp_path / "step-000002" / "model.safetensors")


def test_log_lines_are_strict_json_with_the_reason_for_null():
    line = runlog.encode({"step": 3, "loss": float("nan"), "kl": float("inf"), "recon": 1.5})
    assert json.loads(line, parse_constant=lambda c: pytest.fail(c)) == {
        "step": 3, "loss": None, "kl": None, "recon": 1.5, "nonfinite": ["loss", "kl"]}


def _train_child(cfg, resume):
    torch.set_num_threads(1)  # a forked child must not enter the parent's OpenMP pool
    try:
        genforge.train(cfg, resume=resume)
        os._exit(0)
    except BaseException:
        os._exit(1)


def test_ten_kills_at_random_moments_then_resume_end_bit_identical(tmp_path):
    steps = 60
    start = time.perf_counter()
    # one torch thread everywhere: float sums in another order would differ in the last bit
    straight = genforge.train(tiny(tmp_path / "straight", steps=steps, checkpoint_every=1, log_every=5,
                                   threads=1))
    full = time.perf_counter() - start
    run = tmp_path / "killed"
    cfg = tiny(run, steps=steps, checkpoint_every=1, log_every=5, threads=1)
    rng = random.Random(0)
    kills = 0
    while kills < 10:
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child)
            _train_child(cfg, resume=(run / "checkpoints" / "latest").exists())
        # ten lives of at most full / 30 each cover at most a third of the run, even if the
        # machine gets faster than it was for the straight run
        time.sleep(rng.uniform(0.02, full / 30))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the run ended before its tenth kill"
        kills += 1
        if (run / "checkpoints" / "latest").exists():  # every kill leaves a loadable checkpoint
            assert genforge.load(run, device="cpu").sample(1, seed=0).shape == (1, 1, 8, 8)
    genforge.train(cfg, resume=(run / "checkpoints" / "latest").exists())
    for name in ("model.safetensors", "training_state.safetensors"):
        a, b = read_tensors(straight.checkpoint / name), read_tensors(find_checkpoint(run) / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert [r["step"] for r in runlog.read(run / "metrics.jsonl")] == list(range(5, steps + 1, 5))


def _limited(megabytes):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, megabytes * 2**20))
    return limit


@pytest.mark.parametrize(("argv", "message"), [
    (["genforge", "sample", "{run}", "-n", "10000000", "--class-sweep", "--out", "{tmp}/x.npy"],  # held whole
     "GiB for the samples"),
    (["genforge", "eval", "{run}", "--n", "1000000000"], "GiB for the samples"),
    (["genforge", "sample", "{run}", "-n", "30000000", "--out", "{tmp}/x.png"], "cannot be drawn"),
    (["genforge-run", "{onnx}", "-n", "100000000", "--batch-size", "1000", "--out", "{tmp}/x.png"],
     "cannot be drawn"),
])
def test_millions_of_samples_under_a_memory_limit_end_in_one_line(argv, message, tiny_run, tiny_onnx,
                                                                  tmp_path):
    args = [a.format(run=tiny_run, tmp=tmp_path, onnx=tiny_onnx) for a in argv]
    exe = shutil.which(args[0], path=os.path.dirname(sys.executable))
    out = subprocess.run([exe, *args[1:]], capture_output=True, text=True, preexec_fn=_limited(2500),
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 2, out.stderr
    line = one_line(out.stderr, os.path.basename(args[0]))
    assert message in line and "ask for fewer" in line
