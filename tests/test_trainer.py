"""The trainer: determinism, bit-exact resume, atomic checkpoints, outputs."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

import genforge
from genforge.checkpoint import find_checkpoint, read_tensors, read_training_state
from genforge.errors import CheckpointError, ConfigError

TINY = {
    "model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
    "data": {"name": "digits", "size": 8},
    "trainer": {"steps": 6, "batch_size": 32, "progress": False, "log_every": 2,
                "sample_every": 3, "checkpoint_every": 3, "ema_decay": 0.0},
}


def tiny(tmp_path, name="run", **changes):
    """The tiny config with ``out`` in tmp_path and trainer changes applied."""
    cfg = json.loads(json.dumps(TINY))
    cfg["out"] = str(tmp_path / name)
    cfg["trainer"].update(changes)
    return cfg


def weights(run_dir):
    return read_tensors(find_checkpoint(run_dir) / "model.safetensors")


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_same_seed_gives_bit_identical_weights(tmp_path):
    genforge.train(tiny(tmp_path, "a"))
    genforge.train(tiny(tmp_path, "b"))
    assert_same(weights(tmp_path / "a"), weights(tmp_path / "b"))
    other = tiny(tmp_path, "c")
    other["seed"] = 1
    genforge.train(other)
    assert not torch.equal(weights(tmp_path / "a")["generator.body.0.weight"],
                           weights(tmp_path / "c")["generator.body.0.weight"])


def test_resume_matches_an_uninterrupted_run_bit_for_bit(tmp_path):
    genforge.train(tiny(tmp_path, "straight", steps=10, checkpoint_every=5))
    genforge.train(tiny(tmp_path, "split", steps=5, checkpoint_every=5))
    genforge.train(tiny(tmp_path, "split", steps=10, checkpoint_every=5), resume=True)
    assert_same(weights(tmp_path / "straight"), weights(tmp_path / "split"))
    a = read_tensors(find_checkpoint(tmp_path / "straight") / "training_state.safetensors")
    b = read_tensors(find_checkpoint(tmp_path / "split") / "training_state.safetensors")
    assert_same(a, b)
    steps = [json.loads(x)["step"] for x in (tmp_path / "split" / "metrics.jsonl").open()]
    assert steps == [2, 4, 5, 6, 8, 10]


@pytest.mark.parametrize(("kind", "last"), [("linear", 0.1), ("cosine", 0.5 * (1 + math.cos(0.9 * math.pi)))])
def test_lr_decay_follows_the_step_and_survives_a_resume(tmp_path, kind, last):
    straight = genforge.train(tiny(tmp_path, "straight", steps=10, checkpoint_every=5, lr_decay=kind))
    state = read_training_state(find_checkpoint(straight.out))
    groups = [g for opt in state["optimizers"].values() for g in opt["param_groups"]]
    assert groups and all(g["lr"] == pytest.approx(g["initial_lr"] * last) for g in groups)
    # interrupted after step 5: keep only its checkpoint, then resume to the same 10 steps
    split = tmp_path / "split"
    shutil.copytree(straight.out, split)
    shutil.rmtree(split / "checkpoints" / "step-000010")
    (split / "checkpoints" / "latest").write_text("step-000005\n")
    genforge.train(tiny(tmp_path, "split", steps=10, checkpoint_every=5, lr_decay=kind), resume=True)
    assert_same(weights(straight.out), weights(split))
    constant = genforge.train(tiny(tmp_path, "constant", steps=10, checkpoint_every=5))
    assert not torch.equal(weights(constant.out)["generator.body.0.weight"],
                           weights(straight.out)["generator.body.0.weight"])


def test_resume_mid_epoch_with_the_generic_dataset_path(tmp_path):
    # digits at batch 32 has 39 steps per epoch; 45 steps cross an epoch boundary.
    genforge.train(tiny(tmp_path, "straight", steps=45, checkpoint_every=0, sample_every=0))
    genforge.train(tiny(tmp_path, "split", steps=37, checkpoint_every=0, sample_every=0))
    genforge.train(tiny(tmp_path, "split", steps=45, checkpoint_every=0, sample_every=0),
                   resume=True)
    assert_same(weights(tmp_path / "straight"), weights(tmp_path / "split"))


def test_training_leaves_the_callers_rng_alone(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    genforge.train(tiny(tmp_path))
    assert torch.equal(torch.rand(3), expected)


def test_run_folder_layout_and_no_pickle_files(tmp_path):
    run = genforge.train(tiny(tmp_path))
    out = tmp_path / "run"
    assert (out / "checkpoints" / "latest").read_text().strip() == "step-000006"
    assert run.checkpoint == out / "checkpoints" / "step-000006"
    assert sorted(p.name for p in run.checkpoint.iterdir()) == [
        "config.json", "model.safetensors", "training_state.json", "training_state.safetensors"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-000003.png",
                                                                  "step-000006.png"]
    lines = [json.loads(x) for x in (out / "metrics.jsonl").open()]
    assert [x["step"] for x in lines] == [2, 4, 6] and {"loss_d", "loss_g"} <= set(lines[0])
    bad = [p for p in out.rglob("*") if p.suffix in {".pt", ".pth", ".pkl", ".pickle", ".bin"}]
    assert bad == []
    config = json.loads((run.checkpoint / "config.json").read_text())
    assert config["_model"] == "gan" and config["data_info"]["shape"] == [1, 8, 8]


def test_keep_checkpoints_prunes_old_step_folders(tmp_path):
    genforge.train(tiny(tmp_path, steps=8, checkpoint_every=2, keep_checkpoints=2))
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == ["latest", "step-000006", "step-000008"]


def test_existing_run_is_not_overwritten_without_resume(tmp_path):
    genforge.train(tiny(tmp_path))
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):
        genforge.train(tiny(tmp_path))


def test_batch_larger_than_data_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="trainer.batch_size = 5000: larger than the training"):
        genforge.train(tiny(tmp_path, batch_size=5000))


def test_cuda_request_without_cuda_is_a_config_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="trainer.device = 'cuda': CUDA is not available"):
        genforge.train(tiny(tmp_path, device="cuda"))


KILLER = """
import sys, time
import genforge.checkpoint as ck
original = ck._save_tensors
calls = []

def slow(path, tensors, meta=None):
    original(path, tensors, meta)
    calls.append(path)
    if len(calls) == 3:  # first file of the second checkpoint is on disk
        print("SAVING", flush=True)
        time.sleep(60)

ck._save_tensors = slow
import genforge
genforge.train({config!r})
"""


def test_killed_while_saving_leaves_the_previous_checkpoint_loadable(tmp_path):
    cfg = tiny(tmp_path, steps=4, checkpoint_every=2)
    script = tmp_path / "kill_me.py"
    script.write_text(textwrap.dedent(KILLER.format(config=cfg)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "SAVING"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    run_dir = tmp_path / "run"
    assert find_checkpoint(run_dir).name == "step-000002"
    assert any(p.name.startswith(".tmp-step-000004") for p in (run_dir / "checkpoints").iterdir())
    loaded = genforge.load(run_dir, device="cpu")
    assert loaded.sample(4, seed=0).shape == (4, 1, 8, 8)
    genforge.train(cfg, resume=True)  # resuming cleans the half-written folder away
    assert find_checkpoint(run_dir).name == "step-000004"
    assert not any(p.name.startswith(".tmp") for p in (run_dir / "checkpoints").iterdir())


def test_load_gives_seeded_samples_in_range(tmp_path):
    genforge.train(tiny(tmp_path))
    loaded = genforge.load(tmp_path / "run", device="cpu")
    a, b = loaded.sample(5, seed=3), loaded.sample(5, seed=3)
    assert torch.equal(a, b) and a.dtype == torch.float32
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    assert not torch.equal(a, loaded.sample(5, seed=4))
    # sampling runs in eval mode: a sample does not depend on the others in its batch
    z = torch.randn(5, loaded.model.latent_dim)
    with torch.no_grad():
        full = loaded.model.generate(z)
        single = loaded.model.generate(z[:1])
    assert torch.allclose(full[:1], single, atol=1e-6)


def test_load_rejects_non_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no such run or checkpoint folder"):
        genforge.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        genforge.load(tmp_path / "empty")
