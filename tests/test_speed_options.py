"""Trainer options: EMA, bf16 autocast, channels-last, compile, fp16 needing CUDA."""

from __future__ import annotations

import json

import pytest
import torch

import genforge
from genforge.checkpoint import find_checkpoint, read_tensors
from genforge.errors import ConfigError


def config(tmp_path, name="run", **trainer):
    return {"model": {"name": "gan", "latent_dim": 8, "ngf": 8, "ndf": 8},
            "data": {"name": "digits", "size": 8}, "out": str(tmp_path / name),
            "trainer": {"steps": 6, "batch_size": 32, "progress": False, "sample_every": 0,
                        **trainer}}


def test_ema_is_saved_used_by_default_and_optional(tmp_path):
    genforge.train(config(tmp_path, ema_decay=0.9))
    ckpt = find_checkpoint(tmp_path / "run")
    raw, ema = read_tensors(ckpt / "model.safetensors"), read_tensors(ckpt / "ema.safetensors")
    assert set(ema) == {k for k in raw if k.startswith("generator.")}  # the GAN averages its generator
    assert not torch.equal(ema["generator.body.0.weight"], raw["generator.body.0.weight"])
    with_ema = genforge.load(tmp_path / "run", device="cpu")
    without = genforge.load(tmp_path / "run", device="cpu", ema=False)
    assert with_ema.ema and not without.ema
    state = with_ema.model.state_dict()
    assert torch.equal(state["generator.body.0.weight"], ema["generator.body.0.weight"])
    assert torch.equal(state["discriminator.body.0.weight"], raw["discriminator.body.0.weight"])
    module = with_ema.model.export_module()[0]  # what the exporters export
    assert torch.equal(module.state_dict()["generator.body.0.weight"], ema["generator.body.0.weight"])
    assert not torch.equal(with_ema.sample(4, seed=0), without.sample(4, seed=0))


def test_ema_resume_is_exact(tmp_path):
    genforge.train(config(tmp_path, "straight", steps=8, ema_decay=0.5, checkpoint_every=4))
    genforge.train(config(tmp_path, "split", steps=4, ema_decay=0.5, checkpoint_every=4))
    genforge.train(config(tmp_path, "split", steps=8, ema_decay=0.5, checkpoint_every=4), resume=True)
    a = read_tensors(find_checkpoint(tmp_path / "straight") / "ema.safetensors")
    b = read_tensors(find_checkpoint(tmp_path / "split") / "ema.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_autocast_and_channels_last_train_on_cpu(tmp_path):
    run = genforge.train(config(tmp_path, precision="bf16", channels_last=True, log_every=2))
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").open()]
    assert len(lines) == 3 and all(torch.isfinite(torch.tensor(x["loss_d"])) for x in lines)
    weights = read_tensors(run.checkpoint / "model.safetensors")
    assert all(v.dtype in (torch.float32, torch.int64) for v in weights.values())  # stored in fp32


def test_fp16_mixed_needs_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="trainer.precision = '16-mixed': needs CUDA"):
        genforge.train(config(tmp_path, precision="16-mixed", device="cpu"))


def test_compile_option_compiles_each_network(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile",
                        lambda self, *a, **k: compiled.append(type(self).__name__))
    genforge.train(config(tmp_path, compile=True, steps=1))
    assert sorted(compiled) == ["Discriminator", "Generator"]
