"""Shards: ``genforge data pack``, the ``shards`` source, its epochs, workers, resume and hostile files."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import tarfile
import time
import warnings

import numpy as np
import pytest
import torch

import genforge
from genforge.checkpoint import find_checkpoint, read_tensors, read_training_state
from genforge.cli import main
from genforge.data.base import TensorData
from genforge.data.npz import NpzConfig
from genforge.data.npz import load as load_npz
from genforge.data.shard_epochs import ShardSplit
from genforge.data.shard_format import read_info
from genforge.data.shards import ShardsConfig, load
from genforge.data.stream import DataPosition, Reader, delivered, schedule, stream_batches
from genforge.errors import DataError
from genforge.hookspecs import hookimpl
from genforge.plugins import Plugins
from tests.conftest import ROOT, make_dist, run_ok

CPU = torch.device("cpu")


def cli(argv, capsys):
    """Run ``genforge argv`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err):
    """``err`` is exactly one error line, no traceback; return it."""
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("genforge: error: "), err
    return err.strip()


def images(path, n=48, classes=4, seed=0):
    """An ``.npz`` of ``n`` distinct 8x8 uint8 images (pixel 0 is the sample's index) and labels."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 8, 8), dtype=np.uint8)
    x[:, 0, 0] = np.arange(n)
    np.savez(path, x=x, y=rng.integers(0, classes, n))
    return path


def packed(tmp_path, capsys, n=48, shard_size=6, name="shards", **kw):
    """Pack ``images(...)`` (a quarter held out) into ``tmp_path / name`` with the CLI."""
    source = images(tmp_path / f"{name}.npz", n, **kw)
    code, out, err = cli(["data", "pack", "npz", "--set", f"data.path={source}", "--set",
                          "data.test_fraction=0.25", "--out", tmp_path / name, "--shard-size", shard_size,
                          "--no-progress"], capsys)
    assert code == 0, err
    return tmp_path / name


def ids(x):
    """The sample index each image carries in pixel 0."""
    return [round(float(v) * 255) for v in x[:, 0, 0, 0]]


def epoch(split, seed, e, reader, workers=0):
    """The batches of one epoch as lists of sample ids."""
    position = DataPosition(e, 0)
    out = []
    for x, _ in stream_batches(split, seed, reader, workers, position, CPU):
        out.append(ids(x))
        if position.batch == 0:
            return out
    raise AssertionError("unreachable")


def test_pack_writes_the_webdataset_layout_and_the_source_reads_it_back_exactly(tmp_path, capsys):
    folder = packed(tmp_path, capsys)
    shards = [f"test-00000{i}.tar" for i in range(2)] + [f"train-00000{i}.tar" for i in range(6)]
    assert sorted(p.name for p in folder.iterdir()) == ["info.json", *shards]
    with tarfile.open(folder / "train-000000.tar") as tar:
        assert tar.getnames()[:4] == ["000000.png", "000000.cls", "000001.png", "000001.cls"]
    memory = load_npz(NpzConfig(path=str(tmp_path / "shards.npz"), test_fraction=0.25))
    data = load(ShardsConfig(path=str(folder)))
    assert data.info == memory.info and len(data.train) == len(memory.train) == 36
    rows = list(data.train.rows())
    assert torch.equal(torch.stack([x for x, _ in rows]), memory.train.x)  # lossless, in stored order
    assert torch.equal(torch.stack([y for _, y in rows]), memory.train.y)
    assert isinstance(data.test, TensorData) and data.test.as_bytes
    assert torch.equal(data.test.x, memory.test.x) and torch.equal(data.test.y, memory.test.y)


def test_each_epoch_is_a_seeded_permutation_of_the_in_memory_training_split(tmp_path, capsys):
    split = load(ShardsConfig(path=str(packed(tmp_path, capsys)), shuffle_buffer=8)).train
    memory = load_npz(NpzConfig(path=str(tmp_path / "shards.npz"), test_fraction=0.25)).train
    reader = Reader(batch=4)
    first = epoch(split, 0, 0, reader)
    assert sorted(i for b in first for i in b) == sorted(ids(memory.x))  # 36 samples, 9 whole batches
    assert epoch(split, 0, 0, reader) == first  # a pure function of seed and epoch
    assert epoch(split, 0, 1, reader) != first and epoch(split, 1, 0, reader) != first
    x, y = next(stream_batches(split, 0, reader, 0, DataPosition(), CPU))
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and float(x.max()) <= 1.0


def test_the_order_of_the_streams_is_the_order_of_the_workers_and_a_position_resumes_it(tmp_path, capsys):
    # 3 shards for 2 workers: one stream reads 2 shards, the other 1 (unequal quotas)
    split = load(ShardsConfig(path=str(packed(tmp_path, capsys, n=60, shard_size=15)))).train
    reader = Reader(streams=2, batch=4)
    quotas = split.epoch(0, 0, reader).quotas
    assert sorted(quotas) == [3, 7] and schedule(quotas)[-4:] == [quotas.index(7)] * 4
    in_process = epoch(split, 0, 0, reader)
    assert epoch(split, 0, 0, reader, workers=2) == in_process
    for start in (3, 8):
        position = DataPosition(0, start)
        tail = stream_batches(split, 0, reader, 2, position, CPU)
        assert [ids(next(tail)[0]) for _ in range(10 - start)] == in_process[start:]
        assert (position.epoch, position.batch) == (1, 0)
    assert delivered(quotas, 8) == [5 if q == 7 else 3 for q in quotas]  # A B A B A B A A


def test_processes_read_disjoint_shards_and_take_the_same_number_of_batches(tmp_path, capsys):
    split = load(ShardsConfig(path=str(packed(tmp_path, capsys, n=64, shard_size=5)))).train  # 10 shards
    for e in range(3):
        plans = [split.epoch(0, e, Reader(rank, 2, 2, 3)) for rank in (0, 1)]
        assert plans[0].batches == plans[1].batches > 0
        shards = [{s.name for stream in p.shards for s in stream} for p in plans]
        assert not shards[0] & shards[1] and len(shards[0] | shards[1]) == len(split.shards)


def test_a_changed_plan_on_resume_warns_and_starts_the_next_epoch(tmp_path, capsys):
    split = load(ShardsConfig(path=str(packed(tmp_path, capsys)))).train
    position = DataPosition(2, 3, {"world": 1, "streams": 2, "batch": 4, "samples": 36})
    with pytest.warns(UserWarning, match="the rest of epoch 2 is skipped"):
        next(stream_batches(split, 0, Reader(batch=4), 0, position, CPU))
    assert (position.epoch, position.batch) == (3, 1)


def test_a_worker_meeting_a_bad_member_stops_training_with_its_one_line(tmp_path, capsys):
    folder = packed(tmp_path, capsys)
    respoil(folder / "train-000004.tar", "000026.cls", "000026.cls", b"x1")
    shards = read_info(folder)
    split = ShardSplit(folder, shards.train, shards.info, 0)
    with pytest.raises(DataError, match=r"train-000004.tar: member 000026.cls: label 'x1' is not an integer"):
        for _ in stream_batches(split, 0, Reader(streams=2, batch=3), 2, DataPosition(), CPU):
            pass


def png(side=8):
    """A valid 8x8 grayscale PNG member."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((side, side), np.uint8), "L").save(buf, "PNG")
    return buf.getvalue()


def respoil(path, name, new_name, data):
    """Rewrite the shard ``path`` with member ``name`` renamed ``new_name`` holding ``data`` (a link
    when ``data`` is a ``TarInfo``); its other members stay."""
    with tarfile.open(path) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(path, "w") as tar:
        for old, content in members:
            if old == name and isinstance(data, tarfile.TarInfo):
                data.name = new_name
                tar.addfile(data)
                continue
            info = tarfile.TarInfo(new_name if old == name else old)
            content = data if old == name else content
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))


def link_to(target):
    info = tarfile.TarInfo()
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def truncate(folder):
    """Cut ``TRAIN`` in the middle of member 000007.cls's data block."""
    with tarfile.open(folder / TRAIN) as tar:
        member = tar.getmember("000007.cls")
    data = (folder / TRAIN).read_bytes()
    (folder / TRAIN).write_bytes(data[: member.offset_data])


def miscount(folder):
    info = json.loads((folder / "info.json").read_text())
    info["shards"]["train"][0]["samples"] += 1
    info["data_info"]["num_train"] += 1
    (folder / "info.json").write_text(json.dumps(info))


TRAIN = "train-000001.tar"  # keys 000006 to 000011
HOSTILE = {
    "traversal": (lambda f: respoil(f / TRAIN, "000007.png", "../000007.png", png()),
                  f"{TRAIN}: member ../000007.png: an absolute name or one with '.' or '..' parts"),
    "absolute": (lambda f: respoil(f / TRAIN, "000007.png", "/tmp/000007.png", png()),
                 f"{TRAIN}: member /tmp/000007.png: an absolute name"),
    "symlink": (lambda f: respoil(f / TRAIN, "000007.png", "000007.png", link_to("/etc/passwd")),
                f"{TRAIN}: member 000007.png: is a symbolic link; shards hold regular files only"),
    "truncated": (truncate, f"{TRAIN}: member 000007.cls: truncated"),
    "extension": (lambda f: respoil(f / TRAIN, "000007.png", "000007.txt", b"hello"),
                  f"{TRAIN}: member 000007.txt: extension .txt is not one of .png, .cls"),
    "label": (lambda f: respoil(f / TRAIN, "000007.cls", "000007.cls", b"two"),
              f"{TRAIN}: member 000007.cls: label 'two' is not an integer 0..3"),
    "count": (miscount, "train-000000.tar: holds 6 samples, but info.json says 7"),
    "size": (lambda f: respoil(f / "test-000000.tar", "000002.png", "000002.png", png(9)),
             "test-000000.tar: member 000002.png: a 9x9 L PNG; info.json says 8x8 L"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_shard_stops_training_with_one_line_naming_the_shard_and_member(tmp_path, capsys, case):
    folder = packed(tmp_path, capsys)
    spoil, message = HOSTILE[case]
    spoil(folder)
    code, _, err = cli(["train", "--model", "gan", "--data", "shards", "--set", f"data.path={folder}",
                        "--set", "model.ngf=8", "--set", "model.ndf=8", "--steps", "2", "--out",
                        tmp_path / "run", "--no-progress"], capsys)
    assert code == 2 and message in one_line(err) and str(folder) in err


def test_pack_refuses_a_folder_in_use_and_notes_rounding_of_float_pixels(tmp_path, capsys):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    code, _, err = cli(["data", "pack", "digits", "--out", tmp_path / "used", "--no-progress"], capsys)
    assert code == 2 and "exists and is not an empty folder" in one_line(err)
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
    code, out, _ = cli(["data", "pack", "digits", "--out", tmp_path / "digits", "--no-progress"], capsys)
    assert code == 0 and "packed 1257 training samples in 2 shards and 540 held-out samples" in out
    assert "rounded to 8 bits (by at most 0.002)" in out


def test_a_killed_pack_leaves_nothing_in_its_folder_and_the_next_pack_clears_its_leftovers(tmp_path):
    source = images(tmp_path / "x.npz", 400)
    argv = ["data", "pack", "npz", "--set", f"data.path={source}", "--out", str(tmp_path / "out"),
            "--shard-size", "50", "--no-progress"]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child: writes three shards, then waits to be killed)
        from genforge.data import pack

        # a forked child must not enter the parent's OpenMP pool (earlier tests of this
        # process may have started it): it would wait forever for threads that were not forked
        torch.set_num_threads(1)
        signal.alarm(120)  # and a hung child does not outlive the test

        real, calls = pack.add_sample, []

        def slow(*args):
            real(*args)
            calls.append(1)
            if len(calls) == 150:
                os.write(write, b"x")
                time.sleep(60)

        pack.add_sample = slow
        main(argv)
        os._exit(0)
    assert os.read(read, 1) == b"x"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert not (tmp_path / "out").exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp-")]
    assert len(leftovers) == 1 and len(list(leftovers[0].glob("train-*.tar"))) == 3
    assert main(argv) == 0
    assert not any(p.name.startswith(".out.tmp-") for p in tmp_path.iterdir())
    assert len(read_info(tmp_path / "out").train) == 8


def test_a_tampered_data_position_stops_the_resume_with_one_line(tmp_path, capsys):
    folder = packed(tmp_path, capsys)
    argv = ["train", "--model", "gan", "--data", "shards", "--set", f"data.path={folder}", "--set",
            "model.ngf=8", "--set", "model.ndf=8", "--steps", "3", "--out", tmp_path / "run", "--no-progress",
            "--set", "trainer.batch_size=4", "--set", "trainer.sample_every=0"]
    assert cli(argv, capsys)[0] == 0
    ckpt = find_checkpoint(tmp_path / "run")
    assert read_training_state(ckpt)["data"] == {"epoch": 0, "batch": 3, "plan": {
        "world": 1, "streams": 1, "batch": 4, "samples": 36}}
    state = json.loads((ckpt / "training_state.json").read_text())
    position = next(v for k, v in state["__dict__"] if k == "data")
    position["__dict__"][1][1] = "3"  # batch
    (ckpt / "training_state.json").write_text(json.dumps(state))
    code, _, err = cli(["train", "--out", tmp_path / "run", "--resume", "--steps", "6", "--no-progress"],
                       capsys)
    assert code == 2 and "data position" in one_line(err) and "is not {epoch, batch, plan}" in err


def test_a_run_on_shards_is_evaluated_against_its_held_out_shards(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(80, 2)).astype(np.float32)
    np.savez(tmp_path / "points.npz", x=x)
    assert cli(["data", "pack", "npz", "--set", f"data.path={tmp_path / 'points.npz'}", "--set",
                "data.test_fraction=0.5", "--out", tmp_path / "shards", "--no-progress"], capsys)[0] == 0
    assert cli(["train", "--model", "gan", "--data", "shards", "--set", f"data.path={tmp_path / 'shards'}",
                "--steps", 4, "--set", "trainer.batch_size=8", "--out", tmp_path / "run", "--no-progress"],
               capsys)[0] == 0
    code, out, err = cli(["eval", tmp_path / "run", "--n", 30, "--seeds", 1], capsys)
    assert code == 0, err
    # the floor draws the first 30 training samples as packed; memorisation needs them all in memory
    assert "floor = a perfect generator: 30 training samples" in out and "fd " in out
    assert "held-out split: 40 samples" in out and "memorisation" not in out


TINY = {"model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
        "trainer": {"batch_size": 6, "progress": False, "log_every": 5, "sample_every": 0,
                    "checkpoint_every": 4, "ema_decay": 0.0, "threads": 1, "workers": 2}}


def tiny(out, folder, steps):
    cfg = json.loads(json.dumps(TINY))
    cfg.update(out=str(out), data={"name": "shards", "path": str(folder), "shuffle_buffer": 4})
    cfg["trainer"]["steps"] = steps
    return cfg


class KillAt:
    """A hook object: at step ``step`` it tells the test through ``fd`` and waits to be killed."""

    def __init__(self, step, fd):
        self.step, self.fd = step, fd

    @hookimpl
    def genforge_on_step_end(self, run, step, metrics):
        if step == self.step:
            os.write(self.fd, b"x")
            time.sleep(60)


@pytest.mark.slow
def test_killed_mid_epoch_with_two_workers_then_resumed_ends_bit_identical(tmp_path, capsys):
    folder = packed(tmp_path, capsys)  # 6 shards of 6: two streams of 3 batches, 6 batches an epoch
    straight = genforge.train(tiny(tmp_path / "straight", folder, 24))
    run = tmp_path / "killed"
    for kill_at, position in ((9, (1, 2)), (17, (2, 4))):  # killed while its workers read
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child)
            torch.set_num_threads(1)  # not the parent's OpenMP pool (see the test above)
            signal.alarm(120)
            try:
                genforge.train(tiny(run, folder, 24), resume=kill_at > 9, plugins=Plugins(extra=[
                    KillAt(kill_at, write)]))
            finally:
                os._exit(1)
        assert os.read(read, 1) == b"x"
        os.kill(pid, signal.SIGKILL)
        assert os.WIFSIGNALED(os.waitpid(pid, 0)[1])
        state = read_training_state(find_checkpoint(run))  # the checkpoint of the step before
        assert (state["data"]["epoch"], state["data"]["batch"]) == position
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same plan: no epoch is skipped
        genforge.train(tiny(run, folder, 24), resume=True)
    for name in ("model.safetensors", "training_state.safetensors"):
        a, b = read_tensors(straight.checkpoint / name), read_tensors(find_checkpoint(run) / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    positions = [read_training_state(ckpt)["data"] for ckpt in (find_checkpoint(run), straight.checkpoint)]
    assert positions[0] == positions[1]


def test_the_webdataset_library_reads_our_shards(tmp_path, capsys):
    import webdataset as wds

    folder = packed(tmp_path, capsys)
    names = [str(folder / s.name) for s in read_info(folder).train]
    samples = list(wds.WebDataset(names, shardshuffle=False, empty_check=False).decode("l8"))
    rows = list(load(ShardsConfig(path=str(folder))).train.rows())
    assert [s["__key__"] for s in samples] == [f"{i:06d}" for i in range(36)]
    for sample, (x, y) in zip(samples, rows, strict=True):
        assert np.array_equal(sample["png"], (x[0] * 255).round().byte().numpy()) and sample["cls"] == int(y)


RECORDER = """
import json

import torch
from pydantic import BaseModel
from genforge import GenerativeModel, hookimpl


class RecorderConfig(BaseModel):
    record: str


class Recorder(GenerativeModel):
    '''Writes the samples of each batch it trains on to RECORD-RANK.jsonl.'''

    latent_dim = 2

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.net = torch.nn.Linear(2, 2)

    def configure_optimizers(self):
        return {"net": torch.optim.SGD(self.net.parameters(), lr=1e-3)}

    def train_step(self, batch, optimizers):
        x, _ = batch
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        with open(f"{self.config.record}-{rank}.jsonl", "a") as f:
            f.write(json.dumps([round(v * 64) for v in x[:, 0].tolist()]) + "\\n")
        optimizers["net"].zero_grad(set_to_none=True)
        loss = ((self.net(x) - x) ** 2).mean()
        self.backward_step(loss, optimizers["net"])
        return {"loss": loss.detach()}

    def generate(self, z, labels=None):
        return self.net(z)


@hookimpl
def genforge_register_models(register):
    register("recorder", Recorder, RecorderConfig, conditional=False, summary="records its batches")
"""


@pytest.mark.slow
def test_under_two_processes_the_ranks_read_disjoint_halves_that_cover_each_epoch(tmp_path, capsys):
    x = np.stack([np.arange(32) / 64, np.zeros(32)], axis=1).astype(np.float32)  # sample i is [i / 64, 0]
    np.savez(tmp_path / "vectors.npz", x=x)
    code, _, err = cli(["data", "pack", "npz", "--set", f"data.path={tmp_path / 'vectors.npz'}", "--set",
                        "data.test_fraction=0", "--out", tmp_path / "shards", "--shard-size", 4,
                        "--no-progress"], capsys)
    assert code == 0, err
    site = make_dist(tmp_path / "site", "recorder-family", RECORDER)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    # 8 shards of 4: each rank 4 shards, each of its 2 workers 2 shards, 8 batches of 2 an epoch
    run_ok([sys.executable, "-m", "genforge", "train", "--model", "recorder", "--set",
            f"model.record={tmp_path / 'seen'}", "--data", "shards", "--set",
            f"data.path={tmp_path / 'shards'}",
            "--steps", 16, "--set", "trainer.batch_size=4", "--set", "trainer.workers=2", "--set",
            "trainer.sample_every=0", "--out", tmp_path / "run", "--no-progress", "--nproc", 2],
           env=env, timeout=300)
    seen = [[json.loads(line) for line in (tmp_path / f"seen-{rank}.jsonl").open()] for rank in (0, 1)]
    assert [len(batches) for batches in seen] == [16, 16]
    for epoch in (0, 1):
        halves = [sorted(i for batch in batches[8 * epoch: 8 * epoch + 8] for i in batch) for batches in seen]
        assert not set(halves[0]) & set(halves[1]) and sorted(halves[0] + halves[1]) == list(range(32))
    assert seen[0][:8] != seen[0][8:]  # another order every epoch
