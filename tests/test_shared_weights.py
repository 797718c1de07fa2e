"""A tensor a model holds under several keys (a network registered twice as a child) is
stored once, read back under every key, averaged once by the EMA, and named by the kit."""

from __future__ import annotations

import json
import types

import pytest
import torch
from pydantic import BaseModel
from safetensors import safe_open
from torch import nn

import genforge
from genforge import hookimpl
from genforge.checkpoint import EMA_WEIGHTS, WEIGHTS, find_checkpoint, read_tensors
from genforge.errors import CheckpointError
from genforge.plugins import Plugins
from genforge.testing import ConformanceWarning, run_checks
from genforge.weights import ALIASES, header_specs, specs_of


class Cfg(BaseModel):
    hidden: int = 8


class Plain(genforge.GenerativeModel):
    """A moment-matching MLP generator for vectors."""

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.latent_dim = 3
        self.net = nn.Sequential(nn.Linear(3, config.hidden), nn.Tanh(), nn.Linear(config.hidden, 2))

    def configure_optimizers(self):
        return {"model": torch.optim.Adam(self.parameters(), lr=1e-2)}

    def generate(self, z, labels=None):
        return self.net(z)

    def train_step(self, batch, optimizers):
        x, _ = batch
        fake = self.generate(torch.randn(len(x), self.latent_dim, device=x.device))
        loss = ((fake.mean(0) - x.mean(0)) ** 2).sum() + ((fake.std(0) - x.std(0)) ** 2).sum()
        optimizers["model"].zero_grad()
        loss.backward()
        optimizers["model"].step()
        return {"loss": loss.detach()}


class Twice(Plain):
    """The same network kept a second time as a registered child (``step.0.*`` = ``net.*``)."""

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.step = nn.Sequential(self.net)


@hookimpl
def genforge_register_models(register):
    register("plain", Plain, Cfg, conditional=False, summary="an MLP")
    register("twice", Twice, Cfg, conditional=False, summary="an MLP registered twice")


PLUGINS = Plugins(extra=[types.SimpleNamespace(genforge_register_models=genforge_register_models)])


def twin(key: str) -> str:
    """The second key of a ``net.*`` tensor in ``Twice``."""
    return "step.0." + key.removeprefix("net.")


def train(name: str, out):
    return genforge.train({"model": {"name": name}, "data": {"name": "toy2d", "n_train": 64, "n_test": 16},
                           "out": str(out), "trainer": {"steps": 3, "batch_size": 16, "ema_decay": 0.5,
                                                        "progress": False, "sample_every": 0}},
                          plugins=PLUGINS)


def test_a_tensor_under_two_keys_is_stored_once_and_read_back_under_both(tmp_path):
    twice, plain = train("twice", tmp_path / "twice"), train("plain", tmp_path / "plain")
    ckpt = find_checkpoint(tmp_path / "twice")
    for name in (WEIGHTS, EMA_WEIGHTS):
        with safe_open(str(ckpt / name), framework="pt") as f:
            stored, links = set(f.keys()), json.loads(f.metadata()[ALIASES])
        assert stored == {"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"}
        assert links == {twin(k): k for k in stored}
        read = read_tensors(ckpt / name)
        assert set(read) == stored | set(links) and header_specs(ckpt / name) == specs_of(read)
    # the same training as without the second registration, and the average taken once per tensor
    ema = read_tensors(ckpt / EMA_WEIGHTS)
    plain_ema = read_tensors(find_checkpoint(tmp_path / "plain") / EMA_WEIGHTS)
    assert all(torch.equal(ema[k], v) and torch.equal(ema[twin(k)], v) for k, v in plain_ema.items())
    assert all(torch.equal(twice.model.state_dict()[k], v) for k, v in plain.model.state_dict().items())
    loaded = genforge.load(tmp_path / "twice", device="cpu", plugins=PLUGINS, ema=False)
    assert loaded.model.step[0] is loaded.model.net  # still one network after loading
    assert all(torch.equal(v, twice.model.state_dict()[k]) for k, v in loaded.model.state_dict().items())


def test_aliases_that_name_no_stored_key_are_one_clear_error(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "bad.safetensors"
    save_file({"a": torch.zeros(2)}, str(path), {ALIASES: json.dumps({"b": "missing"})})
    with pytest.raises(CheckpointError, match=rf"bad.safetensors: metadata {ALIASES} is not a JSON object "
                                              "of aliases of stored keys$"):
        read_tensors(path)


def test_the_kit_warns_naming_the_keys():
    shown = (r"Twice.state_dict\(\) holds the same memory under several keys: "
             r"net.0.weight = step.0.0.weight; net.0.bias = step.0.0.bias; "
             r"net.2.weight = step.0.2.weight \(\+1 more\)")
    with pytest.warns(ConformanceWarning, match=shown):
        results = run_checks("twice", plugins=PLUGINS, only=["weights_stored_once"], kinds=["vector"])
    assert [(r.check, r.status) for r in results] == [("weights_stored_once-vector", "passed")]
