"""The on-disk cache of image-folder: decoded once, mapped after, rebuilt when its key changes,
never trusted half-built or corrupt; training from it equals training from memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genforge
from genforge.checkpoint import find_checkpoint, read_tensors
from genforge.cli import main
from genforge.data import cache, image_folder
from genforge.data.base import TensorData
from genforge.errors import DataError
from genforge.metrics import views
from genforge.metrics.context import EvalContext
from genforge.trainer import iterate_batches


def write_folder(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    """Two class subfolders of small random images, PNG and JPEG, of varied sizes."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            h, w = 10 + i % 3, 9 + i % 4
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:02d}.{'jpg' if (i + k) % 3 == 0 else 'png'}")
    return root


def load(root: Path, **options) -> genforge.Data:
    return image_folder.load(image_folder.ImageFolderConfig(path=str(root), size=8, **options))


@pytest.fixture
def decodes(monkeypatch) -> list[Path]:
    """The files image-folder decodes, in order (each call recorded, then decoded as usual)."""
    seen: list[Path] = []
    read = image_folder._read_image

    def counting(path: Path, size: int, channels: int) -> np.ndarray:
        seen.append(path)
        return read(path, size, channels)

    monkeypatch.setattr(image_folder, "_read_image", counting)
    return seen


def entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def same_data(a: genforge.Data, b: genforge.Data) -> None:
    for split in ("train", "test"):
        (xa, ya), (xb, yb) = a.tensors(split), b.tensors(split)
        assert torch.equal(xa, xb) and torch.equal(ya, yb), split
    assert a.info == b.info


def test_a_second_load_maps_the_cache_and_decodes_nothing(tmp_path, data_cache, monkeypatch):
    folder = write_folder(tmp_path / "pets")
    memory = load(folder, cache="off")
    assert not memory.train.on_disk and entries(data_cache) == []  # off: nothing written
    first = load(folder)
    assert first.train.on_disk and first.test.on_disk
    [entry] = entries(data_cache)
    assert entry.startswith("image-folder-pets-")
    assert sorted(os.listdir(data_cache / entry)) == ["meta.json", "samples.npy"]

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded an image")

    monkeypatch.setattr(image_folder, "_read_image", no_decoding)
    second = load(folder)
    same_data(second, memory)
    same_data(second, first)
    assert len(second.train) == 22 and len(second.test) == 2  # the split is the slices of one file
    assert second.train.stored.untyped_storage().data_ptr() == second.test.stored.untyped_storage().data_ptr()


def test_changed_added_or_removed_files_and_changed_options_rebuild(tmp_path, data_cache, decodes):
    folder = write_folder(tmp_path / "pets")
    load(folder)
    assert len(decodes) == 24
    changed = folder / "cat" / "01.png"
    Image.fromarray(np.zeros((10, 10, 3), dtype=np.uint8)).save(changed)
    cases = {
        "changed": lambda: None,
        "added": lambda: Image.fromarray(np.full((9, 9, 3), 255, np.uint8)).save(folder / "dog" / "new.png"),
        "removed": lambda: (folder / "dog" / "03.png").unlink(),
    }
    for what, change in cases.items():
        change()
        decodes.clear()
        with pytest.warns(UserWarning, match="files, their sizes or times, or its record changed"):
            fresh = load(folder)
        assert len(decodes) == len(fresh.train) + len(fresh.test), what
        same_data(fresh, load(folder, cache="off"))
    assert len(entries(data_cache)) == 1  # each rebuilt in place
    decodes.clear()
    for option in ({"size": 6}, {"channels": 1}, {"test_fraction": 0.25}, {"split_seed": 3}):
        options = {"size": 8, **option}
        data = image_folder.load(image_folder.ImageFolderConfig(path=str(folder), **options))
        assert data.train.on_disk and len(decodes) == 24, option
        decodes.clear()
    assert len(entries(data_cache)) == 5  # one entry per set of options: switching back decodes nothing
    load(folder)
    assert decodes == []


def corrupt_truncated(entry: Path) -> None:
    path = entry / "samples.npy"
    path.write_bytes(path.read_bytes()[:-100])


def corrupt_shape(entry: Path) -> None:
    np.save(entry / "samples.npy", np.zeros((24, 3, 8, 7), dtype=np.uint8))


def corrupt_dtype(entry: Path) -> None:
    np.save(entry / "samples.npy", np.zeros((24, 3, 8, 8), dtype=np.float32))


def corrupt_pickle(entry: Path) -> None:
    np.save(entry / "samples.npy", np.array([PickleBomb()] * 24, dtype=object), allow_pickle=True)


def tamper_meta(entry: Path) -> None:
    meta = json.loads((entry / "meta.json").read_text())
    meta["shape"][0] = 23
    (entry / "meta.json").write_text(json.dumps(meta))


def garble_meta(entry: Path) -> None:
    (entry / "meta.json").write_text("{not json")


def unpickled() -> None:
    """What unpickling a ``PickleBomb`` calls."""
    pytest.fail("the cache was unpickled")


class PickleBomb:
    """Unpickling one fails the test."""

    def __reduce__(self):
        return (unpickled, ())


@pytest.mark.parametrize(("damage", "problem"), [
    (corrupt_truncated, "samples.npy cannot be read"),
    (corrupt_shape, r"samples.npy holds uint8 \[24, 3, 8, 7\]"),
    (corrupt_dtype, r"samples.npy holds float32"),
    (corrupt_pickle, "samples.npy cannot be read"),
    (tamper_meta, "record changed"),
    (garble_meta, "meta.json cannot be read"),
])
def test_a_corrupt_cache_is_rebuilt_with_a_one_line_warning(tmp_path, data_cache, decodes, damage, problem):
    folder = write_folder(tmp_path / "pets")
    memory = load(folder, cache="off")
    load(folder)
    [entry] = entries(data_cache)
    damage(data_cache / entry)
    decodes.clear()
    with pytest.warns(UserWarning, match=problem) as warned:
        rebuilt = load(folder)
    assert "\n" not in str(warned[0].message) and len(decodes) == 24
    same_data(rebuilt, memory)


def test_an_interrupted_build_leaves_nothing_trusted(tmp_path, data_cache, monkeypatch, decodes):
    folder = write_folder(tmp_path / "pets")
    read = image_folder._read_image

    def failing(path: Path, size: int, channels: int) -> np.ndarray:
        if len(decodes) == 12:  # two chunks of five written, the third under way
            raise KeyboardInterrupt
        return read(path, size, channels)

    monkeypatch.setattr(cache, "CHUNK", 5)
    monkeypatch.setattr(image_folder, "_read_image", failing)
    with pytest.raises(KeyboardInterrupt):
        load(folder)
    assert entries(data_cache) == []  # no entry, no temporary folder
    with monkeypatch.context() as m:  # a killed build: its temporary folder stays behind
        m.setattr(cache.shutil, "rmtree", lambda *a, **k: None)
        with pytest.raises(KeyboardInterrupt):
            load(folder)
    [left] = entries(data_cache)
    assert left.startswith(".image-folder-pets-") and f".tmp-{os.getpid()}-" in left
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # a process that no longer runs
    (data_cache / left).rename(data_cache / left.replace(f"-{os.getpid()}-", f"-{gone}-"))
    monkeypatch.setattr(image_folder, "_read_image", read)
    decodes.clear()
    same_data(load(folder), load(folder, cache="off"))
    assert len(decodes) == 48  # the half-built one was not trusted: built anew, and decoded in memory
    assert [e for e in entries(data_cache) if e.startswith(".")] == []  # the killed build's folder is gone


def test_an_unwritable_cache_folder_is_one_line(tmp_path):
    folder = write_folder(tmp_path / "pets", per_class=2)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match=r"data.cache '.*a-file/cache' .*cannot write the cache .*"
                                        r"data.cache = 'off'") as err:
        load(folder, cache=str(blocker / "cache"), test_fraction=0.5)
    assert "\n" not in str(err.value)
    assert main(["train", "--model", "gan", "--data", "image-folder", "--set", f"data.path={folder}",
                 "--set", f"data.cache={blocker / 'cache'}", "--out", str(tmp_path / "run")]) == 2


def test_mapped_batches_are_gathered_where_they_are(tmp_path, monkeypatch):
    data = load(write_folder(tmp_path / "pets"))
    memory = TensorData(data.train.stored.clone(), data.train.y, as_bytes=True)
    cached = iterate_batches(data.train, 8, seed=0, start_step=1, device=torch.device("cpu"))
    with monkeypatch.context() as m:  # the generator looks at its data set on its first batch
        m.setattr(TensorData, "to", lambda *a: pytest.fail("moved the mapped set whole"))
        first = next(cached)
    resident = iterate_batches(memory, 8, seed=0, start_step=1, device=torch.device("cpu"))
    for xc, yc in [first, *(next(cached) for _ in range(3))]:  # past an epoch's end (2 batches in 22)
        xm, ym = next(resident)
        assert xc.dtype == torch.float32 and torch.equal(xc, xm) and torch.equal(yc, ym)


def test_eval_reads_only_the_rows_it_needs(tmp_path, monkeypatch):
    data = load(write_folder(tmp_path / "pets"))
    ctx = EvalContext(None, data, n=5, seed=1, floor=True)
    x, y = ctx.samples()
    whole_x, whole_y = data.tensors("train")
    idx = torch.randperm(len(whole_x), generator=torch.Generator().manual_seed(1))[:5]
    assert torch.equal(x, whole_x[idx]) and torch.equal(y, whole_y[idx])
    queries = torch.rand(7, 3 * 8 * 8, dtype=torch.float64)
    monkeypatch.setattr(views, "TRAIN_VALUES", 3 * 8 * 8 * 5)  # 5 training images at a time
    chunked = views.nearest_training_sample(EvalContext(None, data, n=5, seed=0), queries)
    whole = views.nearest_distance(queries, whole_x.double().flatten(1))
    assert torch.allclose(chunked, whole, rtol=1e-12, atol=1e-12)


TINY = {
    "model": {"name": "cgan", "latent_dim": 8, "ngf": 8, "ndf": 8},
    "trainer": {"steps": 4, "batch_size": 8, "progress": False, "log_every": 2, "sample_every": 0,
                "checkpoint_every": 2, "ema_decay": 0.0},
}


def tiny(folder: Path, out: Path, steps: int = 4, **data) -> dict:
    cfg = json.loads(json.dumps(TINY))
    cfg["data"] = {"name": "image-folder", "path": str(folder), "size": 8, **data}
    cfg["trainer"]["steps"] = steps
    cfg["out"] = str(out)
    return cfg


def weights(run: Path) -> dict[str, torch.Tensor]:
    return read_tensors(find_checkpoint(run) / "model.safetensors")


def test_training_from_the_cache_equals_training_from_memory_and_resumes(tmp_path):
    folder = write_folder(tmp_path / "pets")
    genforge.train(tiny(folder, tmp_path / "memory", cache="off"))
    genforge.train(tiny(folder, tmp_path / "cached"))
    genforge.train(tiny(folder, tmp_path / "split", steps=2))
    genforge.train(tiny(folder, tmp_path / "split"), resume=True)
    memory = weights(tmp_path / "memory")
    for run in ("cached", "split"):
        got = weights(tmp_path / run)
        assert got.keys() == memory.keys()
        assert all(torch.equal(got[k], memory[k]) for k in memory), run
