"""Augmentations: the building blocks of ``genforge.augment`` and the trainer's flips (``data.flip``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

import genforge
from genforge import augment
from genforge.checkpoint import find_checkpoint, read_tensors
from genforge.cli import main
from genforge.data.base import Data, TensorData
from genforge.data.checks import data_problems
from genforge.data.cifar import Cifar10Config, Cifar100Config
from genforge.data.idx import MnistConfig
from genforge.data.image_folder import ImageFolderConfig
from genforge.data.info import DataInfo
from genforge.data.npz import NpzConfig
from tests.doc_blocks import blocks

ROOT = Path(__file__).resolve().parents[1]


def test_flip_mirrors_only_the_chosen_samples_and_passes_gradients():
    x = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).reshape(2, 3, 2, 4).requires_grad_()
    out = augment.flip(x, torch.tensor([True, False]))
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1])
    (out * torch.arange(4.0)).sum().backward()  # weights by output column reach the mirrored input
    assert x.grad is not None
    assert torch.equal(x.grad[0, 0, 0], torch.tensor([3.0, 2.0, 1.0, 0.0]))
    assert torch.equal(x.grad[1, 0, 0], torch.tensor([0.0, 1.0, 2.0, 3.0]))


def test_uniform_draws_from_the_generator_handed_in_or_the_global_rng():
    a = augment.uniform(5, "cpu", torch.Generator().manual_seed(3))
    assert torch.equal(a, augment.uniform(5, "cpu", torch.Generator().manual_seed(3)))
    assert a.shape == (5,) and bool(((a >= 0) & (a < 1)).all())
    torch.manual_seed(7)
    b = augment.uniform(5, "cpu")
    torch.manual_seed(7)
    assert torch.equal(b, torch.rand(5))


def test_step_flips_are_a_function_of_seed_and_step_sliced_like_the_batch():
    before = torch.get_rng_state()
    whole = augment.step_flips(0, 5, 64)
    assert torch.equal(whole, augment.step_flips(0, 5, 64)) and whole.dtype == torch.bool
    assert 16 < int(whole.sum()) < 48  # about half
    assert not torch.equal(whole, augment.step_flips(0, 6, 64))
    assert not torch.equal(whole, augment.step_flips(1, 5, 64))
    for world in (2, 4):  # each process flips its slice of the batch as one process would
        shards = [augment.step_flips(0, 5, 64, (rank, world)) for rank in range(world)]
        assert torch.equal(torch.cat(shards), whole)
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is not drawn from


def test_each_image_source_says_whether_it_flips():
    assert Cifar10Config(path="x").flip and Cifar100Config(path="x").flip
    assert not MnistConfig(path="x").flip
    assert not ImageFolderConfig(path="x").flip and not NpzConfig(path="x").flip


def test_a_source_flipping_vectors_is_refused():
    info = DataInfo(shape=(2,), kind="vector", value_range=None, num_train=4)
    data = Data(TensorData(torch.zeros(4, 2)), None, info, flip=True)
    assert data_problems(data) == ["Data.flip is true but DataInfo.kind is 'vector'; only images are flipped"]


# ---------------------------------------------------------------- the trainer's flips


def images(tmp_path, symmetric=False):
    """The digits as an npz of uint8 8x8 images (mirror-symmetric ones with ``symmetric``)."""
    bunch = load_digits()
    x = (bunch.images * 255 / 16).round().astype(np.uint8)
    if symmetric:
        x = np.maximum(x, x[:, :, ::-1])
    path = tmp_path / ("sym.npz" if symmetric else "digits.npz")
    np.savez(path, x=x, y=bunch.target)
    return path


def config(tmp_path, name, path, flip, steps=6):
    """A tiny GAN on the npz at ``path``."""
    return {"out": str(tmp_path / name),
            "model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
            "data": {"name": "npz", "path": str(path), "flip": flip},
            "trainer": {"steps": steps, "batch_size": 32, "progress": False, "log_every": 2,
                        "sample_every": 0, "checkpoint_every": 3, "ema_decay": 0.0, "threads": 1}}


def weights(run):
    return read_tensors(find_checkpoint(run.out) / "model.safetensors")


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_flips_change_training_but_draw_nothing_from_the_global_rng(tmp_path):
    digits, sym = images(tmp_path), images(tmp_path, symmetric=True)
    on, off = (genforge.train(config(tmp_path, f"digits-{f}", digits, f)) for f in (True, False))
    assert not same(weights(on), weights(off))
    # mirror-symmetric images look the same flipped: any difference would be a disturbed RNG
    on, off = (genforge.train(config(tmp_path, f"sym-{f}", sym, f)) for f in (True, False))
    assert same(weights(on), weights(off))


def test_a_resumed_run_with_flips_matches_an_uninterrupted_one_bit_for_bit(tmp_path):
    digits = images(tmp_path)
    straight = genforge.train(config(tmp_path, "straight", digits, True, steps=6))
    genforge.train(config(tmp_path, "split", digits, True, steps=3))
    split = genforge.train(config(tmp_path, "split", digits, True, steps=6), resume=True)
    assert same(weights(straight), weights(split))
    state = [read_tensors(find_checkpoint(r.out) / "training_state.safetensors") for r in (straight, split)]
    assert same(*state)
    assert json.loads((find_checkpoint(split.out) / "config.json").read_text())["data"]["flip"] is True


def test_flip_on_vectors_is_one_line_naming_the_option(tmp_path, capsys):
    np.savez(tmp_path / "v.npz", x=np.zeros((8, 3), dtype=np.float32))
    code = main(["train", "--model", "gan", "--data", "npz", "--set", f"data.path={tmp_path / 'v.npz'}",
                 "--set", "data.flip=true", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "data.flip = true: mirrors images" in err



def test_the_family_augmentation_example_of_the_plugin_guide_is_differentiable_and_seeded():
    block = next(b for b in blocks(ROOT, "docs/plugins/writing.md") if "def diff_augment" in b.text)
    names: dict[str, object] = {}
    exec(block.text.split("# in train_step")[0], names)  # the functions, without the train_step lines
    fake = torch.rand(6, 1, 4, 4, requires_grad=True)
    torch.manual_seed(0)
    out = names["diff_augment"](fake)
    out.sum().backward()  # every pixel is shifted or moved, never dropped: gradient 1 everywhere
    assert fake.grad is not None and torch.equal(fake.grad, torch.ones_like(fake))
    torch.manual_seed(0)
    assert torch.equal(names["diff_augment"](fake), out)  # the run's RNG fixes the draws
    shifted = names["brightness"](fake, torch.Generator().manual_seed(1)) - fake
    assert torch.allclose(shifted, shifted[:, :1, :1, :1].expand_as(shifted))  # one offset a sample
    assert bool((shifted.abs() <= 0.5).all()) and shifted[:, 0, 0, 0].unique().numel() == 6
