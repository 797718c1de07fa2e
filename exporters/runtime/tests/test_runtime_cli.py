"""genforge-run: .npy and PNG outputs, label syntax, and one-line errors with exit status 2."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from runtime_testkit import make_model

import genforge_runtime
from genforge_runtime.cli import build_parser, main, parse_labels


def test_npy_output_equals_the_api(toy, tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main([str(toy), "-n", "6", "--labels", "0,1,2", "--seed", "4", "--device", "cpu",
                 "--out", str(out)]) == 0
    want = genforge_runtime.load(toy, device="cpu").sample(6, labels=[0, 0, 1, 1, 2, 2], seed=4)
    assert np.array_equal(np.load(out), want)
    assert "wrote 6 samples of toy (CPUExecutionProvider)" in capsys.readouterr().out


def test_png_grid(toy, tmp_path):
    from PIL import Image

    out = tmp_path / "deep" / "grid.png"
    assert main([str(toy), "-n", "9", "--labels", "all", "--out", str(out)]) == 0
    with Image.open(out) as img:
        # 2x2 images enlarged 16x to 32 px; 3 per row (one row per class); 2 px padding
        assert img.size == (3 * 34 + 2, 3 * 34 + 2) and img.mode == "L"


def test_parse_labels():
    assert parse_labels(None, 4, 3) == (None, None)
    assert parse_labels("2", 3, 3) == (2, None)
    assert parse_labels("all", 6, 3) == ([0, 0, 1, 1, 2, 2], 2)
    assert parse_labels("0,1,2", 3, 3) == ([0, 1, 2], None)
    with pytest.raises(ValueError, match="do not divide"):
        parse_labels("0,1", 3, 3)
    with pytest.raises(ValueError, match="expected an integer"):
        parse_labels("x", 3, 3)


@pytest.mark.parametrize(("args", "message"), [
    (["-n", "4", "--labels", "7"], r"labels: expected class indices in \[0, 2\], got \[7\]"),
    (["-n", "4", "--labels", "0,1,2"], "do not divide -n 4"),
    (["--device", "cuda:x"], "device 'cuda:x'"),
])
def test_errors_are_one_line_exit_2(toy, tmp_path, capsys, args, message):
    assert main([str(toy), *args, "--out", str(tmp_path / "s.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genforge-run: error: ") and err.count("\n") == 1
    assert __import__("re").search(message, err)
    assert not (tmp_path / "s.npy").exists()


def test_non_genforge_file_and_bad_suffix(tmp_path, capsys, toy):
    plain = make_model(tmp_path / "plain.onnx", meta={})
    assert main([str(plain), "--out", str(tmp_path / "s.npy")]) == 2
    assert "plain.onnx: not a genforge model" in capsys.readouterr().err
    assert main([str(toy), "--out", str(tmp_path / "s.jpg")]) == 2
    assert "expected a .png or .npy file" in capsys.readouterr().err


def test_png_without_pillow_says_how_to_get_it(toy, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert main([str(toy), "-n", "2", "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'genforge-runtime[png]'" in err and err.count("\n") == 1


def test_the_readme_synopsis_is_the_parser():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("```\n", readme.index("## Command line")) + 4
    synopsis = readme[start: readme.index("```", start)]
    named = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", synopsis))
    actions = [a for a in build_parser()._actions if a.option_strings and a.dest != "help"]
    assert [a.option_strings for a in actions if not named & set(a.option_strings)] == []
    assert sorted(named - {o for a in actions for o in a.option_strings}) == []
