"""The command line: fast torch-free start, one-line errors, train and sample."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from genforge.cli import main

NO_TORCH = """
import sys
from genforge.cli import main
code = main({argv!r})
assert "torch" not in sys.modules, "torch was imported"
print("TORCH-FREE", code)
"""


@pytest.mark.parametrize("argv", [["--help"], ["plugins"], ["plugins", "-v"], ["plugins", "--all", "--json"],
                                  ["plugins", "available"],
                                  ["plugins", "new", "--help"], ["plugins", "install", "--help"],
                                  ["plugins", "install", "flow", "--dry-run"], ["train", "--help"],
                                  ["publish", "--help"], ["data", "pack", "--help"],
                                  ["--version"]])
def test_help_and_plugin_listing_do_not_import_torch(argv):
    code = NO_TORCH.format(argv=argv)
    wrapped = f"try:\n    exec({code!r})\nexcept SystemExit as e:\n" \
              "    import sys; assert 'torch' not in sys.modules; print('TORCH-FREE', e.code)"
    out = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, check=True)
    assert "TORCH-FREE" in out.stdout


BUILTINS_HIDDEN = "(and 8 built-in plugins of genforge 0.1.0: `genforge plugins --all` lists them)"


def test_plugins_lists_installed_families_and_the_builtin_ones_with_all(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "(genforge-gan 0.1.0)" in out and "models: gan, cgan" in out
    assert "genforge.builtins" not in out and "data_sources: digits" not in out
    assert out.splitlines()[-1] == BUILTINS_HIDDEN
    assert main(["plugins", "--all"]) == 0
    everything = capsys.readouterr().out
    assert "genforge.builtins.data_sources  (genforge 0.1.0)" in everything
    assert "data_sources: digits, npz, image-folder, wav-folder, toy2d" in everything
    assert everything.startswith("genforge.builtins.") and out.splitlines()[0] in everything
    assert "built-in plugins of genforge" not in everything


def test_plugins_json_lists_what_the_text_lists(capsys):
    for flags in ([], ["--all"]):
        assert main(["plugins", *flags]) == 0
        text = capsys.readouterr().out
        assert main(["plugins", *flags, "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)["plugins"]
        names = [line.split("  (")[0] for line in text.splitlines() if "  (" in line]
        assert [p["name"] for p in listed] == names
        assert {p["builtin"] for p in listed} == ({False, True} if flags else {False})


def test_plugins_without_installed_ones_says_so(capsys, monkeypatch):
    from genforge import cli
    from genforge.plugins import Plugins

    monkeypatch.setattr(cli, "default_plugins", lambda: Plugins(eps=[]))  # the built-in ones only
    assert main(["plugins"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "no plugins besides the built-in ones (`genforge plugins available` lists the catalogue)",
        BUILTINS_HIDDEN]


def test_plugins_available_reads_the_catalogue(capsys):
    assert main(["plugins", "available"]) == 0
    out = capsys.readouterr().out
    assert "gan" in out and "genforge-gan" in out and "installed" in out


def test_bad_config_value_exits_2_with_one_line(tmp_path, capsys):
    code = main(["train", "--model", "gan", "--out", str(tmp_path / "r"),
                 "--set", "model.latent_dim=abc"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("genforge: error: model.latent_dim = 'abc': "
                           "input should be a valid integer, unable to parse string as an integer")


def test_unknown_model_exits_2(capsys):
    assert main(["train", "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_train_then_sample_png_and_npy(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "cgan", "--out", str(run), "--steps", "3", "--no-progress",
                 "--set", "data.size=8", "--set", "model.ngf=8", "--set", "model.ndf=8",
                 "--set", "trainer.batch_size=16"]) == 0
    assert "checkpoint:" in capsys.readouterr().out
    assert main(["sample", str(run), "-n", "20", "--labels", "0,1", "--out", str(tmp_path / "g.png")]) == 0
    grid = Image.open(tmp_path / "g.png")
    assert grid.size == (10 * 34 + 2, 2 * 34 + 2)  # 2 rows of 10 images, 8 px shown as 32, 2-px padding
    assert main(["sample", str(run / "checkpoints" / "step-000003"), "-n", "5", "--labels", "7",
                 "--out", str(tmp_path / "s.npy")]) == 0
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (5, 1, 8, 8) and arr.dtype == np.float32
    assert 0.0 <= arr.min() and arr.max() <= 1.0
    assert main(["sample", str(run), "-n", "2", "--labels", "10", "--out", str(tmp_path / "x.png")]) == 2
    assert "labels: expected class indices in [0, 9]" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.png")]) == 2


def test_resume_from_cli_continues_and_keeps_config(tmp_path):
    run = tmp_path / "run"
    base = ["train", "--model", "gan", "--data", "toy2d", "--out", str(run), "--no-progress",
            "--set", "data.n_train=256", "--set", "data.n_test=64", "--set", "trainer.batch_size=32"]
    assert main([*base, "--steps", "2"]) == 0
    assert main(["train", "--out", str(run), "--resume", "--steps", "4", "--no-progress"]) == 0
    config = json.loads((run / "checkpoints" / "step-000004" / "config.json").read_text())
    assert config["data"]["name"] == "toy2d" and config["data"]["n_train"] == 256


def test_class_sweep_and_eval_errors_on_a_gan(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "cgan", "--out", str(run), "--steps", "2", "--no-progress",
                 "--set", "data.size=8", "--set", "model.ngf=8", "--set", "model.ndf=8"]) == 0
    assert main(["sample", str(run), "-n", "3", "--class-sweep", "--out", str(tmp_path / "s.npy")]) == 0
    sweep = np.load(tmp_path / "s.npy")
    assert sweep.shape == (30, 1, 8, 8)
    assert not np.allclose(sweep[0], sweep[1])  # same latent, different class
    capsys.readouterr()
    assert main(["sample", str(run), "--reconstruct", "--out", str(tmp_path / "r.png")]) == 2
    assert "cannot reconstruct" in capsys.readouterr().err
    assert main(["eval", str(run), "--metrics", "nll"]) == 2
    assert "metric nll: model 'cgan' has no log_likelihood" in capsys.readouterr().err
    assert main(["eval", str(run), "--metrics", "fid"]) == 2
    assert "unknown metric 'fid'" in capsys.readouterr().err
