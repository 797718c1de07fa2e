"""Several processes under torchrun (gloo on CPU) train the same model as one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from genforge.checkpoint import find_checkpoint, read_tensors
from tests.conftest import make_dist

TOY_FAMILY = """
import torch
from pydantic import BaseModel
from genforge import GenerativeModel, hookimpl


class AEConfig(BaseModel):
    lr: float = 1e-2


class AutoEncoder(GenerativeModel):
    '''A deterministic linear autoencoder: equal batches give equal updates.'''

    latent_dim = 2

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.encoder = torch.nn.Linear(2, 2)
        self.decoder = torch.nn.Linear(2, 2)
        self.scale = torch.nn.Parameter(torch.ones(()))  # used outside any forward

    def configure_optimizers(self):
        return {"enc": torch.optim.Adam(self.encoder.parameters(), lr=self.config.lr),
                "dec": torch.optim.Adam([*self.decoder.parameters(), self.scale], lr=self.config.lr)}

    def train_step(self, batch, optimizers):
        # two networks updated in turn, like a GAN: the encoder's step also leaves
        # gradients on the decoder, which must be neither synchronised nor applied
        if torch.distributed.is_initialized() and len(self.ddp) != 2:
            raise RuntimeError("expected one DistributedDataParallel per optimizer")
        x, _ = batch
        opt_e, opt_d = optimizers["enc"], optimizers["dec"]
        opt_e.zero_grad(set_to_none=True)
        self.backward_step(((self.decoder(self.encoder(x)) * self.scale - x) ** 2).mean(), opt_e)
        opt_d.zero_grad(set_to_none=True)
        loss = ((self.decoder(self.encoder(x).detach()) * self.scale - x) ** 2).mean()
        self.backward_step(loss, opt_d)
        return {"loss": loss.detach()}

    def generate(self, z, labels=None):
        return self.decoder(z) * self.scale


@hookimpl
def genforge_register_models(register):
    register("toy-ae", AutoEncoder, AEConfig, conditional=False, summary="deterministic AE")
"""

CONFIG = """
seed = 0
out = "{out}"
[model]
name = "{model}"
[data]
name = "toy2d"
n_train = 512
n_test = 64
[trainer]
steps = 12
batch_size = 32
checkpoint_every = 6
sample_every = 0
log_every = 4
progress = false
"""


@pytest.fixture
def env(tmp_path):
    site = make_dist(tmp_path / "site", "toy-ae-family", TOY_FAMILY)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join([str(site), root, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def train(env, tmp_path, name, model, nproc):
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(CONFIG.format(out=tmp_path / name, model=model))
    cmd = [sys.executable, "-m", "genforge", "train", str(cfg)]
    if nproc > 1:
        cmd += ["--nproc", str(nproc)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return tmp_path / name


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_global_batch(env, tmp_path):
    single = train(env, tmp_path, "single", "toy-ae", 1)
    double = train(env, tmp_path, "double", "toy-ae", 2)
    a = read_tensors(find_checkpoint(single) / "model.safetensors")
    b = read_tensors(find_checkpoint(double) / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        # float32 sums in another order: equal to a few ulps after 12 Adam steps
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)
    assert not torch.equal(a["scale"], torch.ones(()))  # the out-of-forward parameter learned
    # one checkpoint set and one log, written by the main process only
    assert sorted(p.name for p in (double / "checkpoints").iterdir()) == ["latest", "step-000006",
                                                                         "step-000012"]
    lines = [json.loads(x) for x in (double / "metrics.jsonl").open()]
    assert [x["step"] for x in lines] == [4, 8, 12]
    single_lines = [json.loads(x) for x in (single / "metrics.jsonl").open()]
    for x, y in zip(lines, single_lines, strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-4)  # averaged over processes


@pytest.mark.slow
def test_gan_trains_and_resumes_under_two_processes(env, tmp_path):
    run = train(env, tmp_path, "gan", "gan", 2)
    assert find_checkpoint(run).name == "step-000012"
    cmd = [sys.executable, "-m", "genforge", "train", "--out", str(run), "--resume", "--steps", "18",
           "--nproc", "2", "--no-progress"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert find_checkpoint(run).name == "step-000018"


WRAPPERS = """
import os
import sys
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist

from genforge import GenforgeError, distributed

dist.init_process_group("gloo", init_method="file://" + sys.argv[1], rank=0, world_size=1,
                        timeout=timedelta(seconds=60))
a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
opts = {"a": torch.optim.SGD(a.parameters(), lr=0.1), "b": torch.optim.SGD(b.parameters(), lr=0.1),
        "empty": torch.optim.SGD([torch.nn.Parameter(torch.ones(1), requires_grad=False)], lr=0.1)}
wrapped = distributed.wrap_optimizers(opts, torch.device("cpu"))
assert set(wrapped) == {id(opts["a"]), id(opts["b"])}
assert all(p is q for p, q in zip(wrapped[id(opts["a"])].module.parameters(), a.parameters(),
                                   strict=True))
loss = b(a(torch.ones(3, 2))).sum()  # reaches both; only a's wrapper is armed
distributed.prepare_backward(wrapped[id(opts["a"])])
loss.backward()
expected = torch.autograd.grad(b(a(torch.ones(3, 2))).sum(), a.weight)[0]
torch.testing.assert_close(a.weight.grad, expected)  # averaged over one process: unchanged
distributed.prepare_backward(wrapped[id(opts["b"])])
b.weight.sum().backward()  # b.bias gets no gradient: the next step says so
with pytest.raises(GenforgeError, match="every parameter an optimizer updates must get a gradient"):
    distributed.prepare_backward(wrapped[id(opts["b"])])
with pytest.raises(TypeError, match="optimizer 'raw': updates tensors that are not nn.Parameter"):
    distributed.wrap_optimizers({"raw": torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1)},
                                torch.device("cpu"))
print("wrappers ok", flush=True)
os._exit(0)  # the group ends with the process; no teardown of gloo's threads to wait for
"""


def test_one_wrapper_per_optimizer_over_exactly_its_parameters(tmp_path):
    """A one-member gloo group: the wrappers, their parameters, and a bad optimizer.

    In a child process with a deadline: a process group left in the test process (after a
    failed check, or a teardown that waits on gloo's threads) would hang the suite.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", WRAPPERS, str(tmp_path / "store")], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and "wrappers ok" in out.stdout, out.stdout + out.stderr
