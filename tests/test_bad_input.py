"""Bad input, class by class: one line and exit 2 from both command lines, never a traceback.

Each case prepares its input in a copy of a tiny trained run, runs the command in this
process and checks the one line it prints.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import onnx
import pytest
import torch
from safetensors.torch import load_file, save_file

from genforge.cli import main
from genforge_runtime.cli import main as run_main

CKPT = "checkpoints/step-000002"
#: more digits than Python converts to an integer (4300)
HUGE = "9" * 5000
UNCONDITIONAL = os.path.join(os.path.dirname(__file__), "fixtures", "format1-vae")


@pytest.fixture
def run(tiny_run, tmp_path):
    """A private copy of the tiny trained run."""
    return shutil.copytree(tiny_run, tmp_path / "run")


def call(entry, argv, capsys):
    try:
        code = entry([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    captured = capsys.readouterr()
    return code, captured.err


def one_line(err, prog="genforge"):
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) >= 1, err
    assert lines[-1].startswith(f"{prog}: error: ") or "usage:" in err, err
    return lines[-1]


def edit_json(path, change):
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data)))


def edit_weights(path, change):
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path))


def put(data, key, value):
    data[key] = value
    return data


def deep_set(data, keys, value):
    node = data
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return data


CASES = {
    # item 8: configs
    "config is a folder": (lambda r, t: (t.mkdir(), ["train", t])[1],
                           "expected a config file, found a folder"),
    "config not UTF-8": (lambda r, t: (t.write_bytes(b"seed = 1\n\xff\xfe"), ["train", t])[1], "not UTF-8"),
    "config 100,000 levels deep": (lambda r, t: (t.write_text("a = " + "[" * 100_000 + "]" * 100_000),
                                                 ["train", t])[1], "nested too deeply"),
    "config is a FIFO": (lambda r, t: (os.mkfifo(t), ["train", t])[1], "not a regular file"),
    "catalogue is a FIFO": (lambda r, t: (os.mkfifo(t), ["plugins", "available", "--registry", t])[1],
                            "expected a catalogue, found a FIFO"),
    "catalogue not UTF-8": (lambda r, t: (t.write_bytes(b'x = "\xff"\n'),
                                          ["plugins", "available", "--registry", t])[1], "not UTF-8 text"),
    "trainer = 5": (lambda r, t: (t.write_text("trainer = 5\n[model]\nname = 'gan'\n"), ["train", t])[1],
                    "trainer = 5: input should be a valid dictionary"),
    "seed >= 2**64": (lambda r, t: ["train", "--model", "gan", "--set", f"seed={2**64}"],
                      "seed = 18446744073709551616: expected an integer from -2**63 to 2**63-1"),
    "seed = 2**63": (lambda r, t: ["train", "--model", "gan", "--set", f"seed={2**63 - 1}", "--set",
                                   f"data.split_seed={2**63}"],
                     "data.split_seed = 9223372036854775808: expected an integer from -2**63"),
    "data.split_seed = -1": (lambda r, t: ["train", "--model", "gan", "--set", "data.split_seed=-1"],
                             "data.split_seed = -1: input should be greater than or equal to 0"),
    "--set a 5000-digit integer": (lambda r, t: ["train", "--model", "gan", "--set", f"trainer.steps={HUGE}"],
                                   f"trainer.steps = '{HUGE[:46]}... (5002 chars): an integer longer than "
                                   "Python reads"),
    "a 5000-digit integer in TOML": (lambda r, t: (t.write_text(f"[model]\nname = 'gan'\n[trainer]\n"
                                                                f"steps = {HUGE}\n"), ["train", t])[1],
                                     "target: holds an integer longer than Python reads"),
    "model.latent_dim = 2**70": (lambda r, t: ["train", "--model", "gan", "--set",
                                               f"model.latent_dim={2**70}"],
                                 "model.latent_dim = 1180591620717411303424: expected an integer from"),
    "--set value nested 5000 deep": (lambda r, t: ["train", "--model", "gan", "--set",
                                                   "model.ngf=" + "[" * 5000 + "]" * 5000],
                                     f"model.ngf = '{'[' * 46}... (10002 chars): nested too deeply"),
    "trainer.threads beyond the CPUs": (lambda r, t: ["train", "--model", "gan", "--out", t, "--set",
                                                      "trainer.threads=100000"],
                                        "trainer.threads = 100000: expected 0 to"),
    "-n of 5000 digits": (lambda r, t: ["sample", r, "-n", HUGE, "--out", t],
                          f"expected an integer, got '{HUGE[:40]}'... (5000 characters)"),
    "-n 2**63": (lambda r, t: ["sample", r, "-n", str(2**63), "--out", t],
                 "expected an integer from 1 to 2**63-1"),
    "--threads 100000": (lambda r, t: ["train", "--model", "gan", "--threads", "100000"],
                         "(the CPUs of this machine), got '100000'"),
    "--nproc 100000": (lambda r, t: ["train", "--model", "gan", "--nproc", "100000"],
                       "(the CPUs of this machine), got '100000'"),
    "model.lr = inf": (lambda r, t: ["train", "--model", "gan", "--set", "model.lr=inf"],
                       "model.lr = inf: expected a finite number"),
    "model.lr = 1e400": (lambda r, t: ["train", "--model", "gan", "--set", "model.lr=1e400"],
                         "model.lr = inf: expected a finite number"),
    "trainer.steps = true": (lambda r, t: ["train", "--model", "gan", "--set", "trainer.steps=true"],
                             "trainer.steps = true: expected a number, not a boolean"),
    "--set value with a newline": (lambda r, t: ["train", "--model", "gan", "--set", "trainer.steps=3\nx=1"],
                                   "control character '\\n'"),
    # item 8: command-line numbers
    "-n -1": (lambda r, t: ["sample", r, "-n", "-1", "--out", t], "expected an integer >= 1"),
    "eval --n 0": (lambda r, t: ["eval", r, "--n", "0"], "expected an integer >= 1"),
    "eval --k 0": (lambda r, t: ["eval", r, "--k", "0"], "expected an integer >= 1"),
    "eval --seeds 0": (lambda r, t: ["eval", r, "--seeds", "0"], "expected an integer >= 1"),
    "--seed 2**64": (lambda r, t: ["sample", r, "--seed", str(2**64), "--out", t], "expected a seed"),
    "--device foo": (lambda r, t: ["sample", r, "--device", "foo", "--out", t], "expected auto, cpu, cuda"),
    # item 8: files genforge writes
    "--out under a file": (lambda r, t: (t.write_text("x"), ["sample", r, "--out", t / "s.npy"])[1],
                           "File exists"),
    "--out is a folder": (lambda r, t: ((t / "s.npy").mkdir(parents=True),
                                        ["sample", r, "--out", t / "s.npy"])[1], "Is a directory"),
    "eval --json into a missing folder": (lambda r, t: ["eval", r, "--json", t / "no" / "x.json"],
                                          "its folder does not exist"),
    # items 5-9: tampered checkpoints
    "config.json is a string": (lambda r, t: ((r / CKPT / "config.json").write_text('"x"'),
                                              ["sample", r, "--out", t])[1],
                                "not a genforge checkpoint config"),
    "config.json is an int": (lambda r, t: ((r / CKPT / "config.json").write_text("7"),
                                            ["sample", r, "--out", t])[1],
                              "not a genforge checkpoint config"),
    "data_info without shape": (lambda r, t: (edit_json(r / CKPT / "config.json", lambda d: (
        d["data_info"].pop("shape"), d)[1]), ["sample", r, "--out", t])[1], "data_info.shape"),
    "latent_dim = 3000000": (lambda r, t: (edit_json(r / CKPT / "config.json", lambda d: deep_set(
        d, ["model", "latent_dim"], 3_000_000)), ["sample", r, "--out", t])[1],
        "weights do not match the model: shape (stored vs model) generator."),
    "weights: missing and mis-shaped keys": (lambda r, t: (edit_weights(
        r / CKPT / "model.safetensors", lambda w: (w.pop(sorted(w)[0]), w.update(
            {sorted(w)[0]: torch.zeros(3, 3)}))), ["sample", r, "--out", t])[1],
        "weights do not match the model: missing "),
    "int weights": (lambda r, t: (edit_weights(r / CKPT / "model.safetensors", lambda w: w.update(
        {k: v.long() for k, v in w.items() if v.is_floating_point()})), ["sample", r, "--out", t])[1],
        "dtype (stored vs model)"),
    "NaN weights": (lambda r, t: (edit_weights(r / CKPT / "model.safetensors", lambda w: [
        v.fill_(float("nan")) for v in w.values() if v.is_floating_point()]), ["export", r, "--out", t])[1],
        "non-finite weights"),
    "truncated safetensors": (lambda r, t: ((r / CKPT / "model.safetensors").write_bytes(b"\x10\x00"),
                                            ["sample", r, "--out", t])[1], "unreadable safetensors"),
    "FIFO model.safetensors": (lambda r, t: ((r / CKPT / "model.safetensors").unlink(),
                                             os.mkfifo(r / CKPT / "model.safetensors"),
                                             ["sample", r, "--out", t])[2], "not a regular file"),
    "latest names ../": (lambda r, t: ((r / "checkpoints" / "latest").write_text("../../other/checkpoints/x"),
                                       ["sample", r, "--out", t])[1], "not a step folder"),
    "latest names an absolute path": (lambda r, t: ((r / "checkpoints" / "latest").write_text(str(r / CKPT)),
                                                    ["sample", r, "--out", t])[1], "not a step folder"),
    "training_state.json a string": (lambda r, t: ((r / CKPT / "training_state.json").write_text('"x"'),
                                                   ["train", "--out", r, "--resume", "--steps", "3"])[1],
                                     "step None is not a step count"),
    "training state step -5": (lambda r, t: (edit_json(r / CKPT / "training_state.json", lambda d: (
        [item.__setitem__(1, -5) for item in d["__dict__"] if item[0] == "step"], d)[1]),
        ["train", "--out", r, "--resume", "--steps", "3"])[1], "step -5 is not a step count"),
    "training state bad RNG": (lambda r, t: (edit_json(r / CKPT / "training_state.json", lambda d: (
        [item.__setitem__(1, {"__dict__": [["cpu", 5]]}) for item in d["__dict__"] if item[0] == "rng"],
        d)[1]),
        ["train", "--out", r, "--resume", "--steps", "3"])[1], "training state does not match this model"),
    "extractor is a FIFO": (lambda r, t: (os.mkfifo(t), ["eval", r, "--extractor", t])[1],
                            "not a regular file"),
    # item 9: export options
    "--option fp16=maybe": (lambda r, t: ["export", r, "--out", t, "--option", "fp16=maybe"],
                            "fp16 = 'maybe': expected true or false"),
    "--option name=../x": (lambda r, t: ["export", r, "--out", t.parent, "--option", "name=../x"],
                           "name = '../x': expected letters"),
    "--labels all, unconditional": (lambda r, t: ["sample", UNCONDITIONAL, "-n", "64", "--labels", "all",
                                                  "--out", t], "this model is not conditional"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_and_exit_2(case, run, tmp_path, capsys):
    prepare, message = CASES[case]
    target = tmp_path / "target"
    argv = prepare(run, target)
    if argv[0] == "sample" and "--out" in argv and str(argv[-1]) == str(target):
        argv[-1] = tmp_path / "s.npy"
    start = time.perf_counter()
    code, err = call(main, argv, capsys)
    assert code == 2, err
    line = one_line(err)
    assert message in line, line
    assert time.perf_counter() - start < 30  # a FIFO never blocks


def test_debug_prints_the_chain_of_a_tampered_checkpoint(run, tmp_path, capsys, monkeypatch):
    (run / CKPT / "model.safetensors").write_bytes(b"\x10\x00")
    argv = ["sample", run, "--out", tmp_path / "s.npy"]
    code, err = call(main, argv, capsys)
    assert code == 2 and err.count("\n") == 1 and "unreadable safetensors file" in err
    for env, extra in (("1", []), ("", ["--debug"])):
        monkeypatch.setenv("GENFORGE_DEBUG", env)
        code, err = call(main, [*argv, *extra], capsys)
        assert code == 2 and "Traceback" in err and "SafetensorError" in err and "which led to" in err
        assert err.strip().splitlines()[-1].startswith("genforge: error: ") and "unreadable" in err


def test_a_weight_mismatch_names_missing_unexpected_and_misshaped_keys(run, tmp_path, capsys):
    def change(w):
        first, second, third = sorted(w)[:3]
        w.pop(first)
        w["extra.weight"] = torch.zeros(2)
        w[second] = torch.zeros(1, 2, 3)

    edit_weights(run / CKPT / "model.safetensors", change)
    code, err = call(main, ["sample", run, "--out", tmp_path / "s.npy"], capsys)
    line = one_line(err)
    assert code == 2 and "missing " in line and "unexpected extra.weight" in line
    assert "shape (stored vs model) " in line and "[1, 2, 3] vs" in line


def _manifest(src, dst, **values):
    model = onnx.load(str(src))
    props = {p.key: p for p in model.metadata_props}
    for key, value in values.items():
        props[key].value = value
    onnx.save(model, str(dst))
    return dst


RUNTIME_CASES = {
    "latent_dim -1": ({"latent_dim": "-1"}, [], "manifest value out of range: latent_dim -1"),
    "num_classes x": ({"num_classes": "x"}, [], "unreadable genforge manifest value"),
    "sample_shape [0]": ({"sample_shape": "[0]"}, [], "sample_shape [0]"),
    "output_dtype complex": ({"output_dtype": "complex"}, [], "output_dtype 'complex'"),
    "output_layout XY": ({"output_layout": "XY"}, ["--out", "{tmp}/g.png"],
                         "manifest output_layout 'XY' disagrees with the graph"),
    "latent_dim not the graph's": ({"latent_dim": "9"}, [], "manifest latent_dim 9 disagrees with the graph"),
    "-n -1": ({}, ["-n", "-1"], "expected an integer >= 1"),
    "--seed -1": ({}, ["--seed", "-1"], "expected a seed"),
    "--batch-size 0": ({}, ["--batch-size", "0"], "expected an integer >= 1"),
    "--threads 0": ({}, ["--threads", "0"], "expected 1 to"),
    "--threads 100000": ({}, ["--threads", "100000"], "(the CPUs of this machine), got '100000'"),
    "-n 2**70": ({}, ["-n", str(2**70)], "expected an integer from 1 to 2**63-1"),
    "--steps of 5000 digits": ({}, ["--steps", HUGE], "expected an integer, got '999"),
    "--seed of 5000 digits": ({}, ["--seed", HUGE], "expected an integer, got '999"),
    "--batch-size 2**63": ({}, ["--batch-size", str(2**63)], "expected an integer from 1 to 2**63-1"),
}


@pytest.mark.parametrize("case", list(RUNTIME_CASES))
def test_genforge_run_bad_input_gives_one_line_and_exit_2(case, tiny_onnx, tmp_path, capsys):
    values, args, message = RUNTIME_CASES[case]
    path = _manifest(tiny_onnx, tmp_path / "m.onnx", **values)
    args = [a.format(tmp=tmp_path) for a in args]
    out = [] if "--out" in args else ["--out", tmp_path / "s.npy"]
    code, err = call(run_main, [path, "-n", "4", *args, *out], capsys)
    assert code == 2, err
    assert message in one_line(err, "genforge-run")


def test_genforge_run_prints_manifest_text_without_control_characters(tiny_onnx, tmp_path, capsys):
    path = _manifest(tiny_onnx, tmp_path / "m.onnx", **{"genforge.model": "evil\x1b[2J\x1b]0;x\x07"})
    assert run_main([str(path), "-n", "2", "--out", str(tmp_path / "s.npy")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "evil\\x1b[2J" in out
