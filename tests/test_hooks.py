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
from genforge.registrars import REGISTRARS, CommandRegistrar, signature_text

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


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")")


def reference_problems(text: str, specs: dict, registrars: dict) -> list[str]:
    """Where docs/plugins/hooks.md and the hook specifications (or registrars) disagree."""
    sections = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", text, re.M | re.S))
    problems = [f"{name}: documented, but no such hook" for name in sorted(set(sections) - set(specs))]
    for name, spec in specs.items():
        if name not in sections:
            problems.append(f"{name}: no '## {name}' section")
            continue
        params = ", ".join(f"{p.name}: {p.annotation}" for p in inspect.signature(spec).parameters.values())
        if f"def {name}({params}) -> None: ..." not in _flat(sections[name]):
            problems.append(f"{name}: the section does not show def {name}({params}) -> None")
        if name in registrars:
            usage = registrars[name]
            if _flat(usage) not in _flat(sections[name]):
                problems.append(f"{name}: the section does not show {usage}")
    return problems


SPECS = {h: getattr(hookspecs, h) for h in HOOKS}
USAGES = {**{r.hook: signature_text(r.__call__) for r in REGISTRARS.values()},
          "genforge_register_commands": signature_text(CommandRegistrar.add_command, "cli.add_command")}
REFERENCE = (ROOT / "docs" / "plugins" / "hooks.md").read_text()


def test_the_reference_shows_every_hook_and_registrar_signature_exactly():
    assert set(USAGES) == {h for h in HOOKS if h.startswith("genforge_register_")}
    assert reference_problems(REFERENCE, SPECS, USAGES) == []
    for name, spec in SPECS.items():  # and the hookspec docstrings point there, one line each
        assert spec.__doc__.count("\n") == 0 and f"docs/plugins/hooks.md#{name}" in spec.__doc__


def test_the_reference_test_catches_a_hook_that_gains_an_argument(monkeypatch):
    def genforge_on_step_end(run: TrainingRun, step: int, metrics: dict[str, float | Tensor],  # noqa: F821
                             sampler: object) -> None:
        """A hook that gained an argument the reference does not show."""

    class Registrar(REGISTRARS["exporters"]):
        def __call__(self, name: str, exporter: object, summary: str = "", *, fp16: bool = False) -> None:
            """A registrar that gained a keyword."""

    monkeypatch.setattr(hookspecs, "genforge_on_step_end", genforge_on_step_end)
    specs = {h: getattr(hookspecs, h) for h in HOOKS}
    usages = {**USAGES, Registrar.hook: signature_text(Registrar.__call__)}
    assert reference_problems(REFERENCE, specs, usages) == [
        "genforge_on_step_end: the section does not show def genforge_on_step_end(run: TrainingRun, "
        "step: int, metrics: dict[str, float | Tensor], sampler: object) -> None",
        "genforge_register_exporters: the section does not show register(name: str, exporter: object, "
        "summary: str = '', *, fp16: bool = False)",
    ]


def test_trace_prints_each_hook_call_and_its_duration(monkeypatch, capsys):
    @hookimpl
    def genforge_register_exporters(register):
        register("null", types.SimpleNamespace(export=lambda loaded, path, options: path), "nothing")

    @hookimpl
    def genforge_on_checkpoint_saved(run, step, path):
        pass

    plugin = types.SimpleNamespace(genforge_register_exporters=genforge_register_exporters,
                                   genforge_on_checkpoint_saved=genforge_on_checkpoint_saved)
    monkeypatch.setenv("GENFORGE_TRACE_PLUGINS", "1")
    plugins = Plugins(extra=[plugin])
    assert "null" in plugins.names("exporters")
    plugins.pm.unregister(name="genforge.builtins.model_card")  # it needs a real run
    plugins.hook.genforge_on_checkpoint_saved(run=None, step=1, path=ROOT)
    lines = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"genforge trace: genforge_register_exporters \[SimpleNamespace\] \d+\.\d{3} ms",
                        next(ln for ln in lines if "genforge_register_exporters [S" in ln))
    assert re.fullmatch(r"genforge trace: genforge_on_checkpoint_saved \[SimpleNamespace\] \d+\.\d{3} ms",
                        lines[-1])
    monkeypatch.delenv("GENFORGE_TRACE_PLUGINS")
    quiet = Plugins(extra=[plugin])
    quiet.pm.unregister(name="genforge.builtins.model_card")
    quiet.hook.genforge_on_checkpoint_saved(run=None, step=1, path=ROOT)
    assert capsys.readouterr().err == ""


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
