"""Sizes the disk or a picture cannot hold, refused before the first sample; a full disk mid-write.

An output's size is known before anything is drawn: a ``.npy`` larger than the free space
of its disk and a PNG grid larger than Pillow opens are refused in one line (exit status 2)
by both command lines. A write that fails part way (a full disk, a file size limit) names
the file and leaves an earlier file of that name as it was. A full disk while training
keeps the last checkpoint, removes what the failed save wrote, and a resumed run ends
bit-identical to one that never failed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import resource
import shutil
import signal
from collections import namedtuple
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import save

import genforge
import genforge.checkpoint
from genforge.api import LoadedModel
from genforge.checkpoint import find_checkpoint, read_tensors
from genforge.cli import main
from genforge_runtime import sizes
from genforge_runtime.cli import main as run_main
from genforge_runtime.errors import TooLarge
from genforge_runtime.grid import LANE, MAX_PIXELS, WAVE_WIDTH, grid_size, picture, to_grid
from genforge_runtime.sampler import Sampler
from genforge_runtime.sizes import check_output, check_picture, gather, size_text

Usage = namedtuple("Usage", "total used free")


def call(entry, argv, capsys):
    """Run a command line in this process: (exit status, its one error line or "")."""
    try:
        code = entry([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 1, err
    return code, err.strip()


@pytest.fixture
def no_sampling(monkeypatch):
    """Sampling fails the test: a refusal must come before the first sample."""
    def boom(*args, **kwargs):
        raise AssertionError("sampling started before the output's size was checked")

    monkeypatch.setattr(LoadedModel, "sample_batches", boom)
    monkeypatch.setattr(Sampler, "batches", boom)


def commands(tiny_run, tiny_onnx):
    return {"genforge": (main, ["sample", tiny_run]), "genforge-run": (run_main, [tiny_onnx])}


@pytest.mark.parametrize("prog", ["genforge", "genforge-run"])
def test_an_npy_larger_than_the_free_space_is_refused_before_the_first_sample(
        prog, tiny_run, tiny_onnx, tmp_path, monkeypatch, capsys, no_sampling):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(2**40, 2**40 - 2**20, 2**20))
    entry, head = commands(tiny_run, tiny_onnx)[prog]
    out = tmp_path / "new" / "s.npy"  # its folder does not exist yet: the disk of the nearest one counts
    code, line = call(entry, [*head, "-n", "10000", "--out", out], capsys)
    assert code == 2
    # 10000 samples of [1, 8, 8] float32: 2,560,000 bytes
    assert line == (f"{prog}: error: -n 10000: {out} needs 2.4 MiB, but the disk holding {tmp_path} has "
                    "1.0 MiB free; ask for fewer or free space")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("prog", ["genforge", "genforge-run"])
def test_a_grid_too_large_to_open_is_refused_at_once(prog, tiny_run, tiny_onnx, tmp_path, capsys,
                                                     no_sampling):
    entry, head = commands(tiny_run, tiny_onnx)[prog]
    for n in (100_000, 10**9):
        code, line = call(entry, [*head, "-n", n, "--out", tmp_path / "g.png"], capsys)
        _, _, height, width = grid_size(n, 8, 8)
        assert code == 2 and line == (
            f"{prog}: error: -n {n}: a grid of {n} images cannot be drawn: it would be {width} x {height} "
            f"pixels, more than the {MAX_PIXELS:,} Pillow opens; ask for fewer or write .npy")
    assert list(tmp_path.iterdir()) == []


def test_waveform_grids_are_measured_as_they_are_drawn():
    for shape in ((2, 64), (16,)):
        for n in (1, 5, 12):
            drawn = picture(np.zeros((n, *shape), np.float32), "NCHW")
            lanes = shape[0] if len(shape) == 2 else 1
            _, _, height, width = grid_size(n, lanes * LANE, WAVE_WIDTH)
            assert drawn.shape[:2] == (height, width)
        with pytest.raises(TooLarge, match="a grid of 1000000000 images cannot be drawn"):
            check_picture("-n 1000000000", 10**9, shape, "NCHW", None)
    check_picture("-n 1000000000", 10**9, (2,), "NCHW", None)  # points: a scatter plot of one size


def test_the_grid_size_is_the_size_of_the_grid_drawn():
    assert MAX_PIXELS == Image.MAX_IMAGE_PIXELS
    for n in (1, 2, 5, 9, 10, 17):
        for nrow in (None, 3):
            for h, w in ((8, 8), (40, 30)):
                drawn = to_grid(np.zeros((n, h, w, 1), np.uint8), nrow)
                assert drawn.shape[:2] == grid_size(n, h, w, nrow)[2:], (n, nrow, h, w)


def test_sizes_of_any_magnitude_read_as_one_short_phrase():
    assert size_text(512) == "512 bytes"
    assert size_text(3 * 2**30) == "3.0 GiB"
    assert size_text(10**4000) == "10^3991 GiB"  # past any float


@contextlib.contextmanager
def file_size_limit(n: int) -> Iterator[None]:
    """Within the block, this process's files may grow to ``n`` bytes (a write past it fails).

    Restored before the block ends, so pytest's own report of the test (to a file, say)
    is written without the limit.
    """
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (n, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, before)
        signal.signal(signal.SIGXFSZ, handler)


@pytest.mark.parametrize(("prog", "suffix"), [("genforge", ".npy"), ("genforge", ".png"),
                                              ("genforge-run", ".npy"), ("genforge-run", ".png")])
def test_a_write_failing_part_way_names_the_file_and_keeps_the_earlier_one(
        prog, suffix, tiny_run, tiny_onnx, tmp_path, capsys):
    entry, head = commands(tiny_run, tiny_onnx)[prog]
    out = tmp_path / f"s{suffix}"
    out.write_bytes(b"an earlier file")
    with file_size_limit(4096):
        code, line = call(entry, [*head, "-n", "2000", "--out", out], capsys)
    assert code == 2 and line == f"{prog}: error: {out}: File too large (nothing was written)"
    assert out.read_bytes() == b"an earlier file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


TRAIN = ["train", "--model", "gan", "--no-progress", "--threads", "1", "--set", "data.size=8",
         "--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "trainer.batch_size=32",
         "--set", "trainer.checkpoint_every=2", "--set", "trainer.sample_every=0",
         "--set", "trainer.log_every=1"]


def enospc_oserror():
    return OSError(errno.ENOSPC, "No space left on device")


def enospc_safetensors():  # how safetensors reports a full disk
    return SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")


@pytest.mark.parametrize("error", [enospc_oserror, enospc_safetensors])
def test_a_full_disk_during_a_save_keeps_the_last_checkpoint_and_resume_finishes(
        error, tmp_path, monkeypatch, capsys):
    straight = tmp_path / "straight"
    assert call(main, [*TRAIN, "--out", straight, "--steps", "6"], capsys)[0] == 0
    run, root = tmp_path / "run", tmp_path / "run" / "checkpoints"
    writer = genforge.checkpoint.save_file
    saves = []

    def full_at_step_4(tensors, filename, metadata=None):  # half the file, then the disk is full
        saves.append(filename)
        if "step-000004" in filename:
            with open(filename, "wb") as f:
                f.write(save(tensors, metadata)[:1000])
            raise error()
        writer(tensors, filename, metadata)

    monkeypatch.setattr(genforge.checkpoint, "save_file", full_at_step_4)
    code, line = call(main, [*TRAIN, "--out", run, "--steps", "6"], capsys)
    assert code == 2 and line == (
        f"genforge: error: {run}: the disk is full at step 4 (no space left on the device); the last "
        f"checkpoint {root / 'step-000002'} is kept; free space (a checkpoint takes about "
        f"{size_text(sum(p.stat().st_size for p in (root / 'step-000002').iterdir()))}) and continue "
        "with --resume")
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-000002"]  # the half save removed
    assert find_checkpoint(run).name == "step-000002"

    monkeypatch.setattr(genforge.checkpoint, "save_file", writer)
    leftover = root / ".tmp-step-000004-99999"  # what a save killed outright leaves
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"x" * 100_000)

    def after_leftovers(tensors, filename, metadata=None):  # the space they took is free first
        assert not leftover.exists()
        writer(tensors, filename, metadata)

    monkeypatch.setattr(genforge.checkpoint, "save_file", after_leftovers)
    assert call(main, ["train", "--out", run, "--resume", "--steps", "6", "--no-progress"], capsys)[0] == 0
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-000002", "step-000004", "step-000006"]
    for name in ("model.safetensors", "training_state.safetensors"):
        a, b = read_tensors(find_checkpoint(straight) / name), read_tensors(find_checkpoint(run) / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]  # the lines past step 2 written again, once
    assert genforge.load(run, device="cpu").sample(2, seed=0).shape == (2, 1, 8, 8)


def test_a_full_disk_before_any_checkpoint_says_none_was_written(tmp_path, monkeypatch, capsys):
    def full(tensors, filename, metadata=None):
        raise enospc_oserror()

    monkeypatch.setattr(genforge.checkpoint, "save_file", full)
    run = tmp_path / "run"
    code, line = call(main, [*TRAIN, "--out", run, "--steps", "2"], capsys)
    assert code == 2 and line == (f"genforge: error: {run}: the disk is full at step 2 (no space left on "
                                  "the device); no checkpoint was written; free space and train again")
    assert list((run / "checkpoints").iterdir()) == []


def test_points_held_for_a_scatter_plot_are_refused_beyond_the_memory_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(sizes, "memory_limit", lambda: 2**20)
    check_output(tmp_path / "p.png", "-n 60000", 60_000, (2,), np.float32)  # 937.5 KiB held twice fits
    with pytest.raises(TooLarge, match=r"^-n 70000: needs about 1.1 MiB for the samples, more than the "
                                       r"1.0 MiB this process may use; ask for fewer$"):
        check_output(tmp_path / "p.png", "-n 70000", 70_000, (2,), np.float32)
    check_output(tmp_path / "p.npy", "-n 70000", 70_000, (2,), np.float32)  # written batch by batch


def test_samples_held_whole_are_gathered_into_one_array():
    batches = [np.full((2, 2), 1.0), np.full((1, 2), 2.0)]
    assert gather(3, (2,), np.float32, iter(batches)).tolist() == [[1, 1], [1, 1], [2, 2]]
    with pytest.raises(ValueError, match="2 samples were drawn for 3 asked"):
        gather(3, (2,), np.float32, iter(batches[:1]))
