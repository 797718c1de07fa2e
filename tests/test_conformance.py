"""The conformance kit: a well-behaved fake plugin passes, each deliberately broken one fails.

Each fake is an installed-looking distribution (``make_dist``) whose entry module
registers a model living in a second module, as a real plugin would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from importlib.metadata import distributions, entry_points
from pathlib import Path

import pytest
from pydantic import BaseModel

from genforge.plugins import Plugins
from genforge.testing import ConformanceError, assert_conforms, run_checks

CONFIG = """
from pydantic import BaseModel, ConfigDict


class Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: int = 8
    lr: float = 1e-2
"""

MODEL = """
import math

import torch
from torch import nn

import genforge


class Graph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, z):
        return self.model.generate(z)


class Toy(genforge.GenerativeModel):
    '''A moment-matching MLP generator: small, correct, and quick to check.'''

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.shape = tuple(data_info.shape)
        self.latent_dim = 4
        self.image = data_info.kind == "image"
        self.net = nn.Sequential(nn.Linear(4, config.hidden), nn.Tanh(),
                                 nn.Linear(config.hidden, math.prod(self.shape)))

    def configure_optimizers(self):
        return {"model": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def generate(self, z, labels=None):
        out = self.net(z)
        return (torch.sigmoid(out) if self.image else out).reshape(-1, *self.shape)

    def train_step(self, batch, optimizers):
        x, _ = batch
        fake = self.generate(torch.randn(len(x), self.latent_dim, device=x.device))
        loss = ((fake.mean(0) - x.mean(0)) ** 2).mean() + ((fake.std(0) - x.std(0)) ** 2).mean()
        opt = optimizers["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def export_module(self):
        return Graph(self), (torch.randn(2, self.latent_dim),), ["z"], ["samples"]


class WrongShape(Toy):
    def generate(self, z, labels=None):
        flat = super().generate(z).flatten(1)
        return torch.cat([flat, flat[:, :1]], 1)


class Nondeterministic(Toy):
    def sample(self, n, labels=None, generator=None):
        return super().sample(n, labels, generator=None)  # ignores the caller's generator
"""

ENTRY = """
from genforge import hookimpl
{imports}
from {module}_config import Cfg


@hookimpl
def genforge_register_models(register):
    register("{name}", "{module}_models:{cls}", Cfg, conditional=False,
             summary="a fake for the conformance tests", tiny={{"hidden": 6}})
{extra}
"""

PICKLING_HOOK = """
@hookimpl
def genforge_on_checkpoint_saved(run, step, path):
    import torch

    torch.save(run.model.state_dict(), path / "extra_state.pt")
"""

MISSPELLED_HOOK = """
@hookimpl
def genforge_on_train_starts(run):
    pass
"""

#: Checks that export with onnx are slow; the broken fakes skip it (the good one runs it).
NO_ONNX = ("onnx_matches_pytorch",)


@pytest.fixture
def fake(fake_plugins, tmp_path):
    """``fake(name, cls="Toy", imports="", extra="")``: install a fake plugin, return its Plugins."""

    def build(name: str, cls: str = "Toy", imports: str = "", extra: str = ""):
        module = name.replace("-", "_")
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        (site / f"{module}_models.py").write_text(textwrap.dedent(MODEL))
        (site / f"{module}_config.py").write_text(textwrap.dedent(CONFIG))
        code = ENTRY.format(imports=imports, module=module, name=name, cls=cls, extra=extra)
        fake_plugins({name: code})  # writes the distribution (and cleans up its module)
        eps = [ep for d in distributions(path=[str(site)]) for ep in d.entry_points
               if ep.group == "genforge"]
        exporters = [ep for ep in entry_points(group="genforge") if ep.name == "onnx"]
        return Plugins(eps=[*eps, *exporters])

    yield build
    for key in [k for k in sys.modules if k.startswith("fake_") and k.endswith(("_models", "_config"))]:
        sys.modules.pop(key, None)


def failures(results) -> dict[str, str]:
    return {r.check: r.message for r in results if r.status == "failed"}


def test_a_well_behaved_plugin_passes_every_check(fake):
    plugins = fake("fake-good")
    results = assert_conforms("fake-good", plugins=plugins)
    assert {r.status for r in results} == {"passed"}
    checks = {r.check for r in results}
    assert {"entry_module_is_light", "sample_is_deterministic-vector", "resume_is_exact-image",
            "no_pickle-image", "onnx_matches_pytorch-image", "train_step_is_finite-image"} <= checks


def test_wrong_sample_shape_is_named(fake):
    plugins = fake("fake-shape", cls="WrongShape")
    failed = failures(run_checks("fake-shape", plugins=plugins, skip=NO_ONNX))
    assert {"sample_shape_dtype_range-image", "sample_shape_dtype_range-vector"} <= set(failed)
    message = failed["sample_shape_dtype_range-vector"]
    assert "wrong sample shape" in message and "(5, 3)" in message and "expected (5, 2)" in message
    assert "Fix: generate(z, labels) must return [n, *data_info.shape]" in message


def test_nondeterministic_sampling_is_named(fake):
    plugins = fake("fake-random", cls="Nondeterministic")
    failed = failures(run_checks("fake-random", plugins=plugins, skip=NO_ONNX))
    assert set(failed) == {"sample_is_deterministic-image", "sample_is_deterministic-vector",
                           "save_load_identical-image"}
    message = failed["sample_is_deterministic-image"]
    assert message.startswith("nondeterministic sampling")
    assert "draw all sampling randomness from what sample() hands generate" in message
    # save -> load names the same cause, not the state_dict
    assert "changes with torch's global RNG" in failed["save_load_identical-image"]
    assert "state_dict" not in failed["save_load_identical-image"]


def test_pickle_based_save_is_named(fake):
    plugins = fake("fake-pickle", extra=PICKLING_HOOK)
    failed = failures(run_checks("fake-pickle", plugins=plugins, skip=NO_ONNX))
    assert set(failed) == {"no_pickle-image"}
    message = failed["no_pickle-image"]
    assert "pickle-based save" in message and "extra_state.pt" in message
    assert "torch.save at fake_pickle.py" in message
    assert "safetensors and JSON only" in message


def test_heavy_import_at_entry_point_is_named(fake):
    plugins = fake("fake-heavy", imports="import torch  # heavy, at import time")
    failed = failures(run_checks("fake-heavy", plugins=plugins, skip=NO_ONNX))
    assert set(failed) == {"entry_module_is_light"}
    message = failed["entry_module_is_light"]
    assert "torch was imported by" in message and "fake_heavy.py:3 `import torch" in message
    assert "register the model as a 'module:Class' string" in message


def test_misspelled_hook_is_named(fake):
    plugins = fake("fake-typo", extra=MISSPELLED_HOOK)
    failed = failures(run_checks("fake-typo", plugins=plugins, only=["plugin_loads", "builds"]))
    assert set(failed) == {"plugin_loads", "builds-image", "builds-vector"}
    for message in failed.values():
        assert "model 'fake-typo' is not registered" in message
        assert "unknown hook 'genforge_on_train_starts'" in message
        assert "did you mean 'genforge_on_train_start'" in message


def test_duplicate_names_are_named():
    from genforge import hookimpl

    @hookimpl
    def genforge_register_models(register):
        register("gan", "nowhere:Model", BaseModel, conditional=False, summary="a shadow")

    plugins = Plugins(extra=[types.SimpleNamespace(genforge_register_models=genforge_register_models)])
    failed = failures(run_checks("gan", plugins=plugins, only=["names_are_unique"]))
    message = failed["names_are_unique"]
    assert "'gan' is registered by both genforge-gan 0.1.0 and SimpleNamespace" in message
    assert "Fix: rename it" in message


def test_assert_conforms_lists_every_failure(fake):
    plugins = fake("fake-shape2", cls="WrongShape")
    with pytest.raises(ConformanceError) as err:
        assert_conforms("fake-shape2", plugins=plugins, only=["sample_shape_dtype_range"])
    lines = str(err.value).splitlines()
    assert len(lines) == 2 and all(line.startswith("fake-shape2 sample_shape_dtype_range-") for line in lines)


TEST_FILE = """
from genforge.testing import parametrize_with_checks

@parametrize_with_checks(["gan"])
def test_kit(model, check):
    check(model)
"""


@pytest.mark.parametrize("mode", ["report", "fail"])
def test_pytest_plugin_reports_checks_that_cannot_run(tmp_path, mode):
    """Without an ONNX exporter the ONNX check is "not applicable" (or a failure, if so configured)."""
    (tmp_path / "test_kit.py").write_text(TEST_FILE)
    env = {**os.environ, "GENFORGE_LOAD_PLUGINS": "gan", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA",
                          "-o", f"genforge_not_applicable={mode}", "-k", "onnx or plugin_loads",
                          str(tmp_path / "test_kit.py")],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    text = out.stdout + out.stderr
    reason = "not applicable: no 'onnx' exporter is installed (pip install genforge-onnx)"
    if mode == "report":
        assert out.returncode == 0, text
        assert "1 passed" in text and "1 not applicable" in text
        assert "genforge checks not applicable here" in text and reason.split(": ", 1)[1] in text
    else:
        assert out.returncode == 1, text
        assert "1 failed" in text and reason in text


def test_kit_ids_and_applicability():
    from genforge.testing import Subject, checks_for

    gan = [c.id for c in checks_for(Subject("gan"))]
    vae = [c.id for c in checks_for(Subject("vae"))]
    assert "log_likelihood-image" not in gan and "log_likelihood-image" in vae
    assert gan[:3] == ["plugin_loads", "entry_module_is_light", "names_are_unique"]
    assert len(set(gan)) == len(gan)
    assert [c.id for c in checks_for(Subject("gan"), kinds=["vector"])][-1] == "onnx_matches_pytorch-vector"
    with pytest.raises(ValueError, match="kinds"):
        checks_for(Subject("gan"), kinds=["audio"])


def test_heavy_import_probe_names_the_line(tmp_path):
    """The probe's message points at the import line, not at genforge's loader."""
    from genforge.testing.imports import describe_heavy

    found = {"module": "torch", "frames": [[str(Path("/x/pkg/plugin.py")), 7, "from pkg import model"],
                                            [str(Path("/x/pkg/model.py")), 3, "import torch"]]}
    text = describe_heavy(found)
    assert text == "torch was imported by /x/pkg/model.py:3 `import torch` (reached from plugin.py:7)"
