"""Exports of every installed family: the file, its manifest, and samples matching PyTorch."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx_testkit import family_params, torch_samples

import genforge
import genforge_runtime
from genforge.checkpoint import CONFIG, FAMILY_KEY, WEIGHTS
from genforge_onnx.manifest import KEYS
from genforge_onnx.onnx_exporter import exporter
from genforge_onnx.options import DEFAULT_OPSET


def labels_for(sampler: genforge_runtime.Sampler, n: int) -> np.ndarray | None:
    return (np.arange(n) % sampler.num_classes).astype(np.int64) if sampler.conditional else None


@pytest.mark.parametrize("name", family_params())
def test_export_is_one_verified_file_with_the_manifest(name, exported, loaded, checkpoint):
    path = exported(name)
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(name + ".")) == [path.name]
    assert not list(path.parent.glob("*.data")) and not list(path.parent.glob(".*tmp*"))
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    assert set(KEYS) <= set(meta)
    m = loaded(name).model
    ckpt = loaded(name).path
    assert meta["genforge.model"] == name
    assert meta["genforge.family"] == json.loads((ckpt / CONFIG).read_text())[FAMILY_KEY] != "unknown"
    assert meta["genforge.version"] == genforge.__version__
    assert int(meta["opset"]) == DEFAULT_OPSET == model.opset_import[0].version
    assert meta["source_sha256"] == hashlib.sha256((ckpt / WEIGHTS).read_bytes()).hexdigest()
    assert int(meta["latent_dim"]) == m.latent_dim and meta["latent_distribution"] == "normal"
    assert int(meta["num_classes"]) == (10 if m.conditional else 0)
    assert json.loads(meta["class_names"]) == ([str(i) for i in range(10)] if m.conditional else [])
    assert json.loads(meta["sample_shape"]) == [1, 8, 8] and meta["output_layout"] == "NCHW"
    assert meta["output_dtype"] == "float32" and json.loads(meta["output_range"]) == [0.0, 1.0]
    assert meta["part"] == "generator" and meta["precision"] == "float32"
    assert float(meta["tolerance"]) == 1e-4 and 0 <= float(meta["max_abs_error"]) <= 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    assert [i.name for i in inputs] == (["z", "labels"] if m.conditional else ["z"])
    assert inputs[0].type == "tensor(float)" and inputs[0].shape[1] == m.latent_dim
    assert all(isinstance(i.shape[0], str) for i in inputs)  # a dynamic batch axis
    if m.conditional:
        assert inputs[1].type == "tensor(int64)"
    assert [o.name for o in session.get_outputs()] == ["samples"]


@pytest.mark.parametrize("options", [{}, {"fp16": True}, {"output": "uint8"}])
def test_an_export_holds_no_path_of_the_exporting_machine(exported, options):
    """torch.onnx records each node's Python stack (file paths, source lines); the export drops it,
    so the bytes do not depend on where genforge is installed."""
    data = exported("cgan", **options).read_bytes()
    for place in (genforge.__file__, onnx.__file__, sys.prefix):
        assert str(Path(place).parent).encode() not in data, place
    assert b"pkg.torch.onnx.stack_trace" not in data and b'File "' not in data


@pytest.mark.parametrize("name", family_params())
def test_runtime_samples_match_pytorch_at_several_batch_sizes(name, exported, loaded):
    sampler = genforge_runtime.load(exported(name), device="cpu")
    for n in (1, 7, 64):
        y = labels_for(sampler, n)
        got = sampler.sample(n, labels=y, seed=n)
        want = torch_samples(loaded(name).model, n, n, y)
        assert got.shape == (n, 1, 8, 8) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    assert np.array_equal(sampler.sample(20, seed=3, batch_size=6), sampler.sample(20, seed=3))


@pytest.mark.parametrize("name", family_params())
def test_uint8_output_is_nhwc_within_one_count(name, exported, loaded):
    path = exported(name, output="uint8")
    sampler = genforge_runtime.load(path, device="cpu")
    info = sampler.info
    assert (info["output_dtype"], info["output_layout"], info["sample_shape"]) == ("uint8", "NHWC", [8, 8, 1])
    assert info["tolerance"] == 1 and info["max_abs_error"] <= 1
    y = labels_for(sampler, 64)
    got = sampler.sample(64, labels=y, seed=0)
    want = torch_samples(loaded(name).model, 64, 0, y)
    assert got.dtype == np.uint8 and got.shape == (64, 8, 8, 1)
    ref = np.round(np.clip(want.transpose(0, 2, 3, 1), 0, 1) * 255)
    assert np.abs(got.astype(np.int16) - ref).max() <= 1


@pytest.mark.parametrize("name", family_params(("gan", "cvae")))
def test_fp16_halves_the_weights_and_stays_within_1e_2(name, exported, loaded):
    path = exported(name, fp16=True)
    model = onnx.load(str(path))
    big = [t for t in model.graph.initializer if len(t.dims) >= 2]
    assert big and all(t.data_type == onnx.TensorProto.FLOAT16 for t in big)
    assert [i.type.tensor_type.elem_type for i in model.graph.input][0] == onnx.TensorProto.FLOAT
    sampler = genforge_runtime.load(path, device="cpu")
    assert sampler.info["precision"] == "float16" and sampler.info["tolerance"] == 1e-2
    assert 0 < sampler.info["max_abs_error"] <= 1e-2
    y = labels_for(sampler, 64)
    got = sampler.sample(64, labels=y, seed=1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, torch_samples(loaded(name).model, 64, 1, y), rtol=0, atol=1e-2)


def test_fp16_with_uint8_output(exported):
    sampler = genforge_runtime.load(exported("cgan", fp16=True, output="uint8"), device="cpu")
    assert sampler.info["output_dtype"] == "uint8" and sampler.info["tolerance"] == 3
    assert sampler.sample(5, labels=2, seed=0).shape == (5, 8, 8, 1)


def test_opset_is_configurable_and_recorded(loaded, tmp_path, capsys):
    path = exporter.export(loaded("gan"), tmp_path / "g20.onnx", {"opset": 20})
    assert onnx.load(str(path)).opset_import[0].version == 20
    assert genforge_runtime.load(path).info["opset"] == 20
    assert "max abs error" in capsys.readouterr().out
    for bad in ({"opset": 11}, {"output": "rgb"}, {"part": "critic"}, {"colour": 1}):
        with pytest.raises(genforge.GenforgeError):
            exporter.export(loaded("gan"), tmp_path / "bad.onnx", bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g20.onnx"]


def test_an_existing_folder_receives_model_name_onnx(loaded, tmp_path):
    path = exporter.export(loaded("gan"), tmp_path, {"verbose": False})
    assert path == tmp_path / "gan.onnx" and path.is_file()


def test_gan_has_no_encoder(loaded, tmp_path):
    with pytest.raises(genforge.GenforgeError, match="no encoder"):
        exporter.export(loaded("gan"), tmp_path / "enc.onnx", {"part": "encoder"})
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", family_params(("vae", "cvae")))
def test_vae_encoder_part_matches_pytorch(name, loaded, tmp_path):
    import torch

    model = loaded(name).model
    if not hasattr(model, "export_encoder"):
        pytest.skip("this VAE plugin has no export_encoder yet")
    path = exporter.export(loaded(name), tmp_path / "enc.onnx", {"part": "encoder", "verbose": False})
    sampler = genforge_runtime.load(path, device="cpu")
    assert sampler.part == "encoder" and sampler.info["sample_shape"] == [1, 8, 8]
    x = np.random.default_rng(0).random((9, 1, 8, 8), dtype=np.float32)
    y = np.arange(9) % 10 if model.conditional else None
    mean, logvar = sampler.encode(x, labels=y)
    module = model.export_encoder()[0].eval()
    with torch.inference_mode():
        args = [torch.from_numpy(x)] + ([torch.from_numpy(y)] if y is not None else [])
        ref_mean, ref_logvar = (t.numpy() for t in module(*args))
    np.testing.assert_allclose(mean, ref_mean, atol=1e-4)
    np.testing.assert_allclose(logvar, ref_logvar, atol=1e-4)
    with pytest.raises(ValueError, match="encoder"):
        sampler.sample(4)


def test_runtime_samples_a_real_export_with_torch_unimportable(exported, loaded, tmp_path):
    path = exported("cgan")
    want = torch_samples(loaded("cgan").model, 12, 5, np.full(12, 4, dtype=np.int64))
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['genforge'] = None\n"
        "import numpy as np, genforge_runtime\n"
        f"s = genforge_runtime.load({str(path)!r}, device='cpu')\n"
        f"np.save({str(tmp_path / 'got.npy')!r}, s.sample(12, labels=4, seed=5))\n"
        "assert not any(m == 'torch' or m.startswith(('torch.', 'genforge.')) for m in sys.modules"
        " if sys.modules[m] is not None)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "got.npy"), want, rtol=0, atol=1e-4)
