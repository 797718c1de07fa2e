"""CPU threads that suit the machine: ``trainer.threads`` / ``--threads``, the usable CPUs, sleeping waits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import genforge
from genforge.cli import main
from genforge.threads import ThreadTuner, cpu_threads, default_threads
from genforge_runtime.cpus import cgroup_quota, usable_cpus
from genforge_runtime.session import session_options


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


def test_the_default_starts_on_one_thread_and_tunes_up_to_the_usable_cpus(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("genforge.threads.usable_cpus", lambda: 3)  # a quota of 2.5 CPUs, say
    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    with cpu_threads(0, torch.device("cpu")) as tuner:
        assert isinstance(tuner, ThreadTuner) and tuner.most == 3
    assert calls == [1, 8]  # one thread at first, torch's count again after
    with cpu_threads(0, torch.device("meta")) as tuner:  # not a CPU run: nothing tuned
        assert tuner is None
    with cpu_threads(2, torch.device("cpu")) as tuner:  # a count asked for is kept
        assert tuner is None


def tune(monkeypatch, most: int, seconds_per_step, steps: int = 400) -> tuple[ThreadTuner, list[int]]:
    """A tuner fed ``steps`` steps whose duration depends on the thread count set."""
    counts = [0]
    monkeypatch.setattr(torch, "set_num_threads", counts.append)
    tuner = ThreadTuner(most, settle=1.0, every=10.0, steps=3)
    for _ in range(steps):
        tuner.step_took(seconds_per_step(counts[-1]))
    return tuner, counts[1:]


def test_the_tuner_keeps_the_fastest_count(monkeypatch):
    tuner, counts = tune(monkeypatch, 2, {1: 0.10, 2: 0.06}.get)
    assert counts[0] == 1 and tuner.count == 2 and counts[-1] == 2
    tuner, counts = tune(monkeypatch, 2, {1: 0.10, 2: 0.30}.get)  # beside a busy process, say
    assert tuner.count == 1 and counts[-1] == 1 and 2 in counts  # tried, and went back
    tuner, counts = tune(monkeypatch, 16, {1: 1.0, 2: 0.5, 4: 0.3, 8: 0.2, 16: 0.25}.get)
    assert tuner.count == 8 and counts[-1] == 8  # climbed, and stopped where it got slower


def test_the_tuner_follows_a_change_of_load(monkeypatch):
    counts = [0]
    monkeypatch.setattr(torch, "set_num_threads", counts.append)
    tuner = ThreadTuner(2, settle=1.0, every=10.0, steps=3)
    for speed in ({1: 0.10, 2: 0.06}, {1: 0.10, 2: 0.40}):  # then another job starts
        for _ in range(400):
            tuner.step_took(speed[counts[-1]])
    assert tuner.count == 1 and counts[-1] == 1


def test_probes_cost_little_where_one_count_is_best(monkeypatch):
    tuner, counts = tune(monkeypatch, 2, {1: 0.05, 2: 0.50}.get, steps=2000)
    assert counts.count(2) <= 1 + 2000 * 0.05 / 10.0  # one trial per ``every`` seconds at most


def test_omp_num_threads_is_left_to_torch(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as torchrun sets for each of several processes
    assert default_threads() is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == usable_cpus()


def test_the_flag_sets_the_option(tmp_path):
    out = str(tmp_path / "b")
    assert main(["train", "--model", "gan", "--steps", "1", "--out", out, "--no-progress", "--device", "cpu",
                 "--threads", "1", "--set", "data.size=8", "--set", "model.ngf=8",
                 "--set", "model.ndf=8"]) == 0
    assert genforge.load(out, device="cpu").config.run.trainer.threads == 1


def cgroups(tmp_path: Path, membership: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake /sys/fs/cgroup tree and /proc/self/cgroup."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "self").write_text(membership)
    return tmp_path, tmp_path / "self"


@pytest.mark.parametrize(("membership", "files", "quota"), [
    ("0::/\n", {"cpu.max": "max 100000\n"}, None),
    ("0::/\n", {"cpu.max": "150000 100000\n"}, 1.5),
    ("0::/a/b\n", {"cpu.max": "max 100000\n", "a/cpu.max": "300000 100000\n", "a/b/cpu.max": "max 100000\n"},
     3.0),  # a parent's quota caps its children
    ("0::/a\n", {"unified/a/cpu.max": "50000 100000\n"}, 0.5),  # v2 beside v1 (a hybrid mount)
    ("3:cpu,cpuacct:/x\n2:memory:/x\n", {"cpu,cpuacct/x/cpu.cfs_quota_us": "200000\n",
                                          "cpu,cpuacct/x/cpu.cfs_period_us": "100000\n"}, 2.0),
    ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ("0::/\n", {"cpu.max": "garbage\n"}, None),
    ("0::/\n", {}, None),
])
def test_cgroup_quota(tmp_path, membership, files, quota):
    root, self_file = cgroups(tmp_path, membership, files)
    assert cgroup_quota(root, self_file) == quota


def test_usable_cpus_follow_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr("genforge_runtime.cpus.cgroup_quota", lambda: None)
    assert usable_cpus() == 4
    monkeypatch.setattr("genforge_runtime.cpus.cgroup_quota", lambda: 1.5)
    assert usable_cpus() == 2
    monkeypatch.setattr("genforge_runtime.cpus.cgroup_quota", lambda: 0.2)
    assert usable_cpus() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5})  # taskset -c 5
    monkeypatch.setattr("genforge_runtime.cpus.cgroup_quota", lambda: None)
    assert usable_cpus() == 1


def test_onnxruntime_sessions_get_the_usable_cpus(monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr("genforge_runtime.session.usable_cpus", lambda: 3)
    assert session_options().intra_op_num_threads == 3
    assert session_options(1).intra_op_num_threads == 1


WAIT_POLICY = "import os, genforge, torch; print(os.environ.get('OMP_WAIT_POLICY'))"


@pytest.mark.parametrize(("given", "seen"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_genforge_asks_for_sleeping_waits_before_torch_loads(given, seen):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", WAIT_POLICY], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == seen


BUSY = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end:\n    pass\n"


def train_beside_a_busy_process(tmp_path: Path, name: str, *extra: str) -> float:
    """Wall seconds of a short cvae run while one single-threaded busy loop holds a core."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "genforge", "train", "--model", "cvae", "--steps", "600",
                        "--out", str(tmp_path / name), "--no-progress", "--device", "cpu", *extra],
                       env=env, check=True, capture_output=True, timeout=300)
        return time.perf_counter() - start
    finally:
        busy.kill()
        busy.wait()


@pytest.mark.skipif(usable_cpus() < 2, reason="needs two CPUs to have threads to share")
def test_default_threads_keep_working_beside_a_busy_process(tmp_path):
    # with spinning waits this took 15x the time of one thread; the full figures come from
    # benchmarks/busy_threads.py
    one = train_beside_a_busy_process(tmp_path, "one", "--threads", "1")
    default = train_beside_a_busy_process(tmp_path, "default")
    assert default < 2.0 * one, (default, one)
