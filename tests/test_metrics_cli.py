"""``genforge eval`` with the floor, training curves through the trainer hooks, ``genforge plot``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import genforge
from genforge.cli import main
from genforge.evaluate import evaluate

TINY = ["--steps", "4", "--no-progress", "--set", "model.ngf=8", "--set", "model.ndf=8",
        "--set", "model.latent_dim=8", "--set", "trainer.batch_size=32"]


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("eval") / "cgan"
    assert main(["train", "--model", "cgan", "--out", str(run), *TINY]) == 0
    return run


def test_eval_defaults_to_every_metric_that_applies_with_the_floor(cgan_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", str(cgan_run), "--seeds", "2", "--n", "200", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "n = 200 generated samples per seed, 2 seeds" in table
    assert "trained at 16x16 px, scored at 8x8 px (area-averaged)" in table
    assert "floor (mean ± std)" in table and "200 training samples" in table
    payload = json.loads(out.read_text())
    results, meta = payload["results"], payload["meta"]
    expected = ["fd", "kid", "precision", "recall", "density", "coverage", "class_accuracy", "classes_hit",
                "memorisation_ratio"]
    assert list(results) == expected
    assert meta["metrics"] == ["fd", "kid", "precision", "recall", "density", "coverage", "classes",
                               "memorisation"]
    assert all(len(results[k]["per_seed"]) == len(results[k]["floor"]["per_seed"]) == 2 for k in expected)
    assert results["fd"]["floor"]["mean"] < results["fd"]["mean"]  # 4 steps of training are far from it
    assert results["class_accuracy"]["floor"]["mean"] > 0.98
    assert results["memorisation_ratio"]["floor"]["mean"] == 1.0
    assert meta["floor_n"] == 200 and meta["held_out"] == 540


def test_eval_named_metrics_without_floor_and_errors(cgan_run, capsys):
    assert main(["eval", str(cgan_run), "--metrics", "fd,coverage", "--seeds", "1", "--no-floor"]) == 0
    table = capsys.readouterr().out
    assert "floor" not in table.split("value")[1] and "\nfd " in table and "\ncoverage " in table
    assert main(["eval", str(cgan_run), "--metrics", "modes", "--seeds", "1"]) == 2
    assert "metric modes: needs toy2d" in capsys.readouterr().err


def test_features_of_real_data_are_computed_once_per_evaluation(cgan_run, monkeypatch):
    from genforge.metrics import views

    calls: list[int] = []
    original = views._embed
    monkeypatch.setattr(views, "_embed", lambda ctx, x: calls.append(len(x)) or original(ctx, x))
    evaluate(genforge.load(cgan_run, device="cpu"), None, n=100, seeds=3, floor=True)
    assert calls.count(540) == 1  # held-out features: once for all seeds and the floor
    assert calls.count(100) == 6  # generated (and floor) samples: once per seed each


def test_toy2d_gan_is_scored_by_modes_and_vae_by_nll(tmp_path):
    gan = genforge.train({"model": {"name": "gan", "hidden": 16, "latent_dim": 2}, "out": str(tmp_path / "g"),
                          "data": {"name": "toy2d", "dataset": "25gaussians", "n_train": 512, "n_test": 256},
                          "trainer": {"steps": 2, "batch_size": 64, "progress": False}})
    meta: dict = {}
    results = evaluate(genforge.load(gan.out, device="cpu"), None, n=300, seeds=1, floor=True, meta=meta)
    assert "modes" in meta["metrics"] and meta["feature_space"] == "vector"
    assert results["modes_captured"]["floor"]["mean"] == 25
    assert results["high_quality"]["floor"]["mean"] > 0.95
    vae = genforge.train({"model": {"name": "vae", "latent_dim": 2, "hidden": 16, "layers": 1},
                          "out": str(tmp_path / "v"), "trainer": {"steps": 2, "batch_size": 64,
                                                                   "progress": False}})
    results = evaluate(genforge.load(vae.out, device="cpu"), None, n=100, seeds=1, floor=True,
                       options={"k": 2}, meta=meta)
    assert "nll" in meta["metrics"] and "nll_iwae" in results and "floor" not in results["nll_iwae"]
    assert "floor" in results["fd"]


def test_training_curves_are_logged_through_hooks_and_leave_training_unchanged(tmp_path, capsys):
    from genforge.metrics import extractor

    extractor._CACHE.clear()  # loading the extractor during training must not move the training RNG
    base = ["train", "--model", "gan", *TINY, "--set", "trainer.checkpoint_every=0",
            "--set", "trainer.ema_decay=0.5"]
    assert main([*base, "--out", str(tmp_path / "plain")]) == 0
    assert main([*base, "--out", str(tmp_path / "curves"), "--set", "trainer.eval_every=3",
                 "--set", "trainer.eval_n=100", "--set", "trainer.eval_metrics=['fd','coverage']"]) == 0
    lines = [json.loads(line) for line in (tmp_path / "curves" / "metrics.jsonl").read_text().splitlines()]
    evals = [line for line in lines if line.get("kind")]
    assert [(e["step"], e["kind"]) for e in evals] == [(0, "floor"), (3, "eval"), (4, "eval")]
    assert set(evals[1]) == {"step", "kind", "n", "fd", "coverage", "eval_s"} and evals[1]["n"] == 100
    assert evals[0]["fd"] < evals[1]["fd"]
    for name in ("model.safetensors", "ema.safetensors"):
        weights = [load_file(tmp_path / run / "checkpoints" / "step-000004" / name)
                   for run in ("plain", "curves")]
        assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0]), name
    capsys.readouterr()
    assert main(["plot", str(tmp_path / "curves")]) == 0
    png = tmp_path / "curves" / "curves.png"
    assert png.stat().st_size > 1000 and f"wrote {png}" in capsys.readouterr().out


def test_plot_without_matplotlib_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n')
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == ("genforge: error: genforge plot needs matplotlib: "
                                               "pip install 'genforge[plot]'")


@pytest.mark.parametrize("argv", [["eval", "--help"], ["features", "train", "--help"], ["plot", "--help"],
                                  ["features"]])
def test_new_commands_help_does_not_import_torch(argv):
    code = (f"import sys\nfrom genforge.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n"
            "    pass\nassert 'torch' not in sys.modules, 'torch was imported'\nprint('TORCH-FREE')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "TORCH-FREE" in out.stdout


def test_a_family_can_suggest_defaults_per_data_source():
    """``defaults["per_data"]``: the GAN family trains toy2d with other settings than digits."""
    import types

    from genforge import hookimpl
    from genforge.config import resolve
    from genforge.plugins import Plugins, default_plugins

    @hookimpl
    def genforge_register_models(register):
        gan = default_plugins().get("models", "gan")
        register("gan-x", gan.target, gan.config_cls, conditional=False, summary="",
                 defaults={"data": {"name": "digits", "size": 16}, "trainer": {"steps": 10},
                           "per_data": {"toy2d": {"trainer": {"steps": 20}, "model": {"hidden": 32}}}})

    plugins = Plugins(extra=[types.SimpleNamespace(genforge_register_models=genforge_register_models)])
    digits = resolve({"model": {"name": "gan-x"}}, plugins)
    assert digits.run.trainer.steps == 10 and digits.data.size == 16 and digits.model.hidden == 256
    toy = resolve({"model": {"name": "gan-x"}, "data": {"name": "toy2d"}}, plugins)
    assert toy.run.trainer.steps == 20 and toy.model.hidden == 32 and toy.run.data.name == "toy2d"
    mine = resolve({"model": {"name": "gan-x", "hidden": 8}, "data": {"name": "toy2d"},
                    "trainer": {"steps": 5}}, plugins)
    assert mine.run.trainer.steps == 5 and mine.model.hidden == 8
