"""Every hook is documented and exercised: a plugin implementing all of them."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import torch
from pydantic import BaseModel

import genforge
from genforge import hookimpl, hookspecs
from genforge.cli import build_parser
from genforge.plugins import Plugins, default_plugins

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(n for n, f in vars(hookspecs).items()
               if n.startswith("genforge_") and inspect.isfunction(f))


class NoiseConfig(BaseModel):
    n: int = 64


def noise_source(config: NoiseConfig) -> genforge.Data:
    """A data source of uniform noise images."""
    info = genforge.DataInfo(shape=(1, 8, 8), kind="image", num_train=config.n, name="noise")
    return genforge.Data(genforge.TensorData(torch.rand(config.n, 1, 8, 8)), None, info)


def recording_plugin(events: list) -> types.SimpleNamespace:
    """A plugin implementing every hook, appending what it sees to ``events``."""

    @hookimpl
    def genforge_register_models(register):
        gan = default_plugins().get("models", "gan")
        register("gan-again", gan.target, gan.config_cls, conditional=False, summary="an alias")

    @hookimpl
    def genforge_register_data_sources(register):
        register("noise", noise_source, NoiseConfig, "uniform noise images")

    @hookimpl
    def genforge_register_metrics(register):
        register("always-one", lambda samples, real: 1.0, "a constant")

    @hookimpl
    def genforge_register_feature_extractors(register):
        register("noise", "genforge.metrics.extractor:DIGITS_WEIGHTS", "the digits extractor, reused")

    @hookimpl
    def genforge_register_exporters(register):
        register("null", types.SimpleNamespace(export=lambda loaded, path, options: path), "nothing")

    @hookimpl
    def genforge_register_commands(cli):
        p = cli.add_command("hello", help="say hello")
        p.add_argument("--name", default="world")
        p.set_defaults(handler=lambda args: events.append(("hello", args.name)))

    @hookimpl
    def genforge_on_train_start(run):
        events.append(("start", run.step, run.model.__class__.__name__))

    @hookimpl
    def genforge_on_step_end(run, step, metrics):
        events.append(("step", step, sorted(metrics)))

    @hookimpl
    def genforge_on_checkpoint_saved(run, step, path):
        events.append(("saved", step, path.name, (path / "model.safetensors").is_file()))

    @hookimpl
    def genforge_on_train_end(run, metrics):
        events.append(("end", run.step, all(isinstance(v, float) for v in metrics.values())))

    return types.SimpleNamespace(**{k: v for k, v in locals().items() if k.startswith("genforge_")})


def test_every_hook_has_a_section_in_the_reference():
    text = (ROOT / "docs" / "plugins" / "hooks.md").read_text()
    missing = [h for h in HOOKS if not re.search(rf"^## {h}$", text, re.M)]
    assert missing == []


def test_every_hook_is_exercised_by_a_test():
    tests = "".join(p.read_text() for d in ("tests", "plugins", "exporters", "examples")
                    for p in (ROOT / d).glob("**/test_*.py"))
    own = Path(__file__).read_text()
    assert all(f"def {h}(" in own for h in HOOKS)  # the recording plugin implements each
    assert all(h in tests for h in HOOKS)


def test_all_hooks_fire_in_order(tmp_path):
    events: list = []
    plugins = Plugins(extra=[recording_plugin(events)])
    assert "always-one" in plugins.names("metrics") and "null" in plugins.names("exporters")
    assert plugins.get("feature_extractors", "noise").load().name == "digits.safetensors"
    args = build_parser(plugins).parse_args(["hello", "--name", "genforge"])
    args.handler(args)
    assert events == [("hello", "genforge")]
    events.clear()
    assert plugins.get("models", "gan-again").plugin.name == "SimpleNamespace"
    genforge.train({"model": {"name": "gan-again", "ngf": 8, "ndf": 8, "latent_dim": 4},
                    "data": {"name": "noise", "n": 40}, "out": str(tmp_path / "r"),
                    "trainer": {"steps": 4, "batch_size": 16, "checkpoint_every": 2,
                                "progress": False}}, plugins=plugins)
    assert events[0] == ("start", 0, "GAN")
    assert [e[1] for e in events if e[0] == "step"] == [1, 2, 3, 4]
    assert events[1][2] == ["d_fake", "d_real", "loss_d", "loss_g"]
    assert [e for e in events if e[0] == "saved"] == [("saved", 2, "step-000002", True),
                                                      ("saved", 4, "step-000004", True)]
    assert events[-1] == ("end", 4, True)
