"""One noise contract: `genforge sample --seed 3` and `genforge-run --seed 3` give the same samples.

Every first-party family and the test iterative family are trained briefly, sampled by the
genforge CLI (PyTorch), exported, and sampled by genforge-run in a subprocess in which
torch cannot be imported; the two must agree within 1e-4.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genforge
import genforge.cli as cli
from genforge.plugins import Plugins, default_plugins
from tests.iterative_family import plugin as tiny_plugin

TINY = {
    "gan": {"latent_dim": 8, "ngf": 8, "ndf": 8},
    "cgan": {"latent_dim": 8, "ngf": 8, "ndf": 8, "embed_dim": 4},
    "vae": {"latent_dim": 4, "hidden": 16, "layers": 1},
    "cvae": {"latent_dim": 4, "hidden": 16, "layers": 1, "embed_dim": 4},
    "flow": {"coupling_layers": 2, "hidden": 16, "depth": 1},
    "tinyddpm": {"hidden": 32},
}
STEPS = {"tinyddpm": 200}  # enough that the step network predicts sane noise; the others: 2
#: (model, genforge sample flags, genforge-run flags): labels given or drawn, sampler options changed
CASES = [
    ("gan", [], []),
    ("cgan", [], []),
    ("cgan", ["--labels", "0,1,2"], ["--labels", "0,1,2"]),
    ("vae", [], []),
    ("cvae", ["--labels", "4"], ["--labels", "4"]),
    ("flow", [], []),
    ("tinyddpm", ["--labels", "0,1,2"], ["--labels", "0,1,2"]),
    ("tinyddpm", [], []),
    ("tinyddpm", ["--set", "sampler.steps=30", "--set", "sampler.sampler=ddim", "--set", "sampler.eta=1"],
     ["--steps", "30", "--sampler", "ddim", "--eta", "1"]),
    ("tinyddpm", ["--labels", "7", "--set", "sampler.sampler=dpmpp_2m", "--set", "sampler.steps=10",
                  "--set", "sampler.guidance=2"],
     ["--labels", "7", "--sampler", "dpmpp_2m", "--steps", "10", "--guidance", "2"]),
    # unguided: the update runs inside the graph, carrying the data prediction call to call
    ("tinyddpm", ["--set", "sampler.sampler=dpmpp_2m", "--set", "sampler.steps=12"],
     ["--sampler", "dpmpp_2m", "--steps", "12"]),
]
PLUGINS = Plugins(extra=[tiny_plugin])


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Each model trained briefly on 8x8 digits: {name: (run folder, exported .onnx)}."""
    root = tmp_path_factory.mktemp("seed")
    out = {}
    for name, options in TINY.items():
        run = root / name
        genforge.train({"model": {"name": name, **options}, "data": {"name": "digits", "size": 8},
                        "trainer": {"steps": STEPS.get(name, 2), "batch_size": 32, "progress": False,
                                    "sample_every": 0, "checkpoint_every": 0, "device": "cpu"},
                        "out": str(run)}, plugins=PLUGINS)
        onnx = root / f"{name}.onnx"
        assert cli_main(["export", str(run), "--out", str(onnx)], name) == 0
        out[name] = (run, onnx)
    return out


def cli_main(argv: list[str], name: str) -> int:
    """``genforge ARGV`` in this process (the test family's plugin is not installed, so pass it)."""
    saved = cli.default_plugins
    cli.default_plugins = (lambda: PLUGINS) if name == "tinyddpm" else default_plugins
    try:
        return cli.main(argv)
    finally:
        cli.default_plugins = saved


def run_without_torch(commands: list[list[str]]) -> None:
    """Run ``genforge-run`` once per argument list in one subprocess where torch cannot be imported."""
    code = ("import sys\nsys.modules['torch'] = None\nsys.modules['genforge'] = None\n"
            "from genforge_runtime.cli import main\n"
            f"for argv in {commands!r}:\n    assert main(argv) == 0, argv\n"
            "assert not [m for m, v in sys.modules.items() if v is not None and "
            "m.split('.')[0] in ('torch', 'genforge')]\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_genforge_sample_and_genforge_run_agree_for_every_family(exported, tmp_path):
    commands, pairs = [], []
    for i, (name, sample_flags, run_flags) in enumerate(CASES):
        run, onnx = exported[name]
        a, b = tmp_path / f"{i}-torch.npy", tmp_path / f"{i}-onnx.npy"
        assert cli_main(["sample", str(run), "-n", "6", "--seed", "3", "--device", "cpu", *sample_flags,
                         "--out", str(a)], name) == 0
        commands.append([str(onnx), "-n", "6", "--seed", "3", "--device", "cpu", "--batch-size", "4",
                         *run_flags, "--out", str(b)])
        pairs.append((name, sample_flags, a, b))
    run_without_torch(commands)
    for name, flags, a, b in pairs:
        x, y = np.load(a), np.load(b)
        assert x.shape == y.shape == (6, 1, 8, 8), name
        assert np.abs(x - y).max() <= 1e-4, (name, flags, float(np.abs(x - y).max()))
    by_case = [np.load(a) for _, _, a, _ in pairs]
    assert not np.array_equal(by_case[6], by_case[8])  # other sampler options, other samples


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_changing_steps_at_sample_time_changes_samples_not_the_run_folder(exported, tmp_path):
    run, onnx = exported["tinyddpm"]
    before = digest(run)
    outs = []
    for steps in ("1000", "20"):
        out = tmp_path / f"{steps}.npy"
        assert cli_main(["sample", str(run), "-n", "4", "--seed", "1", "--set", f"sampler.steps={steps}",
                         "--out", str(out)], "tinyddpm") == 0
        outs.append(np.load(out))
    assert cli_main(["export", str(run), "--set", "sampler.steps=50", "--out", str(tmp_path / "s.onnx")],
                    "tinyddpm") == 0
    loaded = genforge.load(run, device="cpu", plugins=PLUGINS)
    api = loaded.sample(4, seed=1, steps=20).numpy()
    assert loaded.sampler_options.steps == 1000  # a call's options do not stick
    assert digest(run) == before
    assert not np.array_equal(outs[0], outs[1])
    np.testing.assert_allclose(api, outs[1], atol=1e-6)
    import genforge_runtime

    assert genforge_runtime.load(tmp_path / "s.onnx").defaults.steps == 50
    assert genforge_runtime.load(onnx).defaults.steps == 1000


def test_bad_sample_time_options_are_one_line_errors(exported, capsys):
    run, _ = exported["tinyddpm"]
    for flags, message in ((["--set", "sampler.steps=0"], "sampler.steps = 0: input should be greater"),
                           (["--set", "sampler.nope=1"], "sampler.nope: unknown key"),
                           (["--set", "model.hidden=3"], "only sampler.KEY=VALUE options change"),
                           (["--set", "sampler.sampler=euler"], "sampler 'euler': a diffusion model")):
        assert cli_main(["sample", str(run), "-n", "2", *flags, "--out", "x.npy"], "tinyddpm") == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    gan, _ = exported["gan"]
    assert cli_main(["sample", str(gan), "-n", "2", "--set", "sampler.steps=3", "--out", "x.npy"], "gan") == 2
    assert "model 'gan' has no sample-time options" in capsys.readouterr().err
