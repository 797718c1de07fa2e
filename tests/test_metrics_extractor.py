"""Feature extractors: the shipped digits network, its reproduction, files, and the hook."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import genforge
from genforge import hookimpl
from genforge.cli import main
from genforge.data.digits import DigitsConfig, load
from genforge.errors import GenforgeError
from genforge.evaluate import evaluate
from genforge.metrics.extractor import DIGITS_WEIGHTS, load_extractor, registered_extractor
from genforge.plugins import Plugins, default_plugins


def test_shipped_digits_extractor_loads_from_safetensors_and_classifies():
    ext = load_extractor(DIGITS_WEIGHTS)
    assert ext.size == 8 and ext.channels == 1 and ext.class_names == [str(i) for i in range(10)]
    assert ext.meta["objective"] == "classes" and ext.meta["test_accuracy"] >= 0.98
    test = load(DigitsConfig()).test
    features, logits = ext.embed(test.x)
    assert features.shape == (540, 128) and features.dtype == torch.float64
    accuracy = float((logits.argmax(1) == test.y).double().mean())
    assert accuracy == pytest.approx(ext.meta["test_accuracy"], abs=1e-4)
    assert registered_extractor("digits", default_plugins()) is ext  # loaded once, cached


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_weights_bit_for_bit(tmp_path):
    """``python -m genforge.metrics.digits_extractor`` gives the same tensors (torch.equal, CPU)."""
    from genforge.metrics.digits_extractor import main as retrain

    shipped = load_file(DIGITS_WEIGHTS)
    path = retrain(["--out", str(tmp_path / "digits.safetensors")])
    again = load_file(path)
    assert sorted(again) == sorted(shipped)
    assert all(torch.equal(again[k], shipped[k]) for k in shipped)
    assert load_extractor(path).meta == load_extractor(DIGITS_WEIGHTS).meta  # only the header order differs


def test_extractor_files_are_checked(tmp_path):
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(GenforgeError, match="not a genforge feature extractor"):
        load_extractor(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04not safetensors")
    with pytest.raises(GenforgeError, match="not a readable safetensors file"):
        load_extractor(junk)
    with pytest.raises(GenforgeError, match="feature extractor file not found"):
        load_extractor(tmp_path / "missing.safetensors")


def write_folder(root, labelled: bool, size: int = 16) -> None:
    """Digits 0 and 1 as PNG files (one subfolder per class when ``labelled``)."""
    data = load(DigitsConfig(size=size))
    for i, (x, y) in enumerate(zip(data.train.x, data.train.y, strict=True)):
        if int(y) > 1:
            continue
        folder = root / f"digit{int(y)}" if labelled else root
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((x[0].numpy() * 255).astype(np.uint8)).save(folder / f"{i}.png")


def test_image_folder_user_trains_an_extractor_and_evaluates_with_it(tmp_path, capsys):
    folder = tmp_path / "images"
    write_folder(folder, labelled=True)
    ext_path = tmp_path / "extractor.safetensors"
    data_opts = ["--set", f"data.path={folder}", "--set", "data.channels=1", "--set", "data.size=16"]
    assert main(["features", "train", "--data", "image-folder", *data_opts, "--epochs", "3",
                 "--out", str(ext_path)]) == 0
    out = capsys.readouterr().out
    assert "trained a classes extractor" in out and f"--extractor {ext_path}" in out
    ext = load_extractor(ext_path)
    assert ext.size == 16 and ext.class_names == ["digit0", "digit1"]
    run = tmp_path / "run"
    assert main(["train", "--model", "gan", "--data", "image-folder", "--out", str(run), "--steps", "2",
                 "--no-progress", *data_opts, "--set", "model.ngf=8", "--set", "model.ndf=8",
                 "--set", "trainer.batch_size=16"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--seeds", "1", "--n", "50", "--extractor", str(ext_path)]) == 0
    table = capsys.readouterr().out
    assert "fd " in table and "coverage" in table and "from extractor.safetensors" in table
    assert "trained at 16x16 px, scored at 16x16 px;" in table
    assert main(["eval", str(run), "--seeds", "1", "--n", "50", "--metrics", "fd"]) == 2
    assert "no feature space" in capsys.readouterr().err


def test_unlabelled_folder_gets_a_rotation_extractor(tmp_path, capsys):
    folder = tmp_path / "images"
    write_folder(folder, labelled=False, size=8)
    out = tmp_path / "rot.safetensors"
    assert main(["features", "train", "--data", "image-folder", "--set", f"data.path={folder}",
                 "--set", "data.channels=1", "--set", "data.size=8", "--epochs", "1",
                 "--out", str(out)]) == 0
    ext = load_extractor(out)
    assert ext.meta["objective"] == "rotation" and ext.class_names == [] and ext.net.num_outputs == 4
    assert main(["features", "train", "--set", "model.x=1", "--out", str(out)]) == 2
    assert "only data.KEY=VALUE" in capsys.readouterr().err


def test_a_data_source_plugin_brings_its_own_extractor(tmp_path):
    """The hook: a plugin registers a data source and an extractor for it; eval picks it up."""

    @hookimpl
    def genforge_register_data_sources(register):
        register("tiny-digits", lambda cfg: load(DigitsConfig(size=16)), DigitsConfig, "16-px digits")

    @hookimpl
    def genforge_register_feature_extractors(register):
        register("tiny-digits", lambda: DIGITS_WEIGHTS, "the digits network")

    plugin = types.SimpleNamespace(genforge_register_data_sources=genforge_register_data_sources,
                                   genforge_register_feature_extractors=genforge_register_feature_extractors)
    plugins = Plugins(extra=[plugin])
    assert "tiny-digits" in plugins.names("feature_extractors")
    run = genforge.train({"model": {"name": "gan", "ngf": 8, "ndf": 8, "latent_dim": 4},
                          "data": {"name": "tiny-digits"}, "out": str(tmp_path / "r"),
                          "trainer": {"steps": 2, "batch_size": 16, "progress": False}}, plugins=plugins)
    loaded = genforge.load(run.out, device="cpu", plugins=plugins)
    meta: dict = {}
    results = evaluate(loaded, None, n=60, seeds=1, plugins=plugins, meta=meta)
    assert {"fd", "kid", "precision", "recall", "density", "coverage", "classes_hit"} <= set(results)
    assert meta["scored_shape"] == [1, 8, 8] and meta["trained_shape"] == [1, 16, 16]
