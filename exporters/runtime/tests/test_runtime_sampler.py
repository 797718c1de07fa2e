"""Sampler: the manifest, seeds, batching, labels and bad files."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_testkit import CLASSES, LATENT, make_model, make_step_model, manifest, reference

import genforge_runtime
from genforge_runtime import NotAGenforgeModel
from genforge_runtime.noise import normals, words


def one_line(excinfo: pytest.ExceptionInfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text and text
    return text


def test_info_is_the_parsed_manifest(toy):
    s = genforge_runtime.load(toy, device="cpu")
    assert s.provider == "CPUExecutionProvider"
    assert s.info["latent_dim"] == LATENT and s.info["num_classes"] == CLASSES and s.info["opset"] == 18
    assert s.info["class_names"] == ["a", "b", "c"] and s.info["sample_shape"] == [1, 2, 2]
    assert s.info["output_range"] == [0.0, 1.0] and s.info["tolerance"] == 1e-4
    assert s.info["conditional"] is True and s.conditional and s.info["genforge.model"] == "toy"
    assert "toy.onnx" in repr(s)


def test_samples_follow_the_documented_noise_contract(toy, toy_uncond):
    s = genforge_runtime.load(toy, device="cpu")
    z = normals(3, 1, 0, 5 * LATENT).reshape(5, LATENT)  # docs/noise.md: z from stream 1
    np.testing.assert_allclose(s.sample(5, labels=[0, 1, 2, 0, 1], seed=3),
                               reference(z, np.array([0, 1, 2, 0, 1])), atol=1e-6)
    np.testing.assert_allclose(s.sample(5, labels=2, seed=3), reference(z, np.full(5, 2)), atol=1e-6)
    # labels left out: floor(unit(w) * classes) from stream 0; z from stream 1 as before
    z = normals(4, 1, 0, 6 * LATENT).reshape(6, LATENT)
    y = np.floor((words(4, 0, 0, 6) + 0.5) * 2.0**-32 * CLASSES).astype(np.int64)
    np.testing.assert_allclose(s.sample(6, seed=4), reference(z, y), atol=1e-6)
    u = genforge_runtime.load(toy_uncond, device="cpu")
    z = normals(0, 1, 0, 3 * LATENT).reshape(3, LATENT)
    np.testing.assert_allclose(u.sample(3, seed=0), reference(z, None), atol=1e-6)


def test_same_seed_same_samples_and_batch_size_does_not_matter(toy):
    s = genforge_runtime.load(toy, device="cpu")
    a = s.sample(50, seed=11)
    assert np.array_equal(a, s.sample(50, seed=11))
    assert np.array_equal(a, genforge_runtime.load(toy, device="cpu").sample(50, seed=11))
    assert not np.array_equal(a, s.sample(50, seed=12))
    assert not np.array_equal(s.sample(50), s.sample(50))  # no seed: fresh entropy
    for size in (1, 7, 50, 64):
        assert np.array_equal(a, s.sample(50, seed=11, batch_size=size))
        assert np.array_equal(a, np.concatenate(list(s.batches(50, seed=11, batch_size=size))))
    assert np.array_equal(s.sample(50, labels=1, seed=11), s.sample(50, labels=1, seed=11, batch_size=7))
    assert s.sample(0, seed=1).shape == (0, 1, 2, 2)


@pytest.mark.parametrize(("labels", "message"), [
    (3, r"labels: expected class indices in \[0, 2\], got \[3\]"),
    ([0, -1, 5, 1], r"labels: expected class indices in \[0, 2\], got \[-1, 5\]"),
    ([0, 1], "labels: expected 1 or 4 labels, got 2"),
    (1.5, "labels: expected an int or a sequence of ints, got 1.5"),
    (["a"] * 4, "labels: expected an int or a sequence of ints"),
    ([[0, 1], [1, 2]], r"labels: expected an int or a 1-D sequence, got shape \[2, 2\]"),
    ([True] * 4, "labels: expected an int or a sequence of ints"),
])
def test_bad_labels_are_one_line_value_errors(toy, labels, message):
    s = genforge_runtime.load(toy, device="cpu")
    with pytest.raises(ValueError, match=message) as e:
        s.sample(4, labels=labels, seed=0)
    one_line(e)


def test_labels_for_an_unconditional_model_are_refused(toy_uncond):
    s = genforge_runtime.load(toy_uncond, device="cpu")
    with pytest.raises(ValueError, match="not conditional") as e:
        s.sample(2, labels=0)
    one_line(e)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n": -1}, "n: expected an integer >= 0"), ({"n": 2.5}, "n: expected an integer"),
    ({"n": 4, "batch_size": 0}, "batch_size: expected an integer >= 1"),
])
def test_bad_counts(toy, kwargs, message):
    with pytest.raises(ValueError, match=message):
        genforge_runtime.load(toy, device="cpu").sample(**kwargs)


def test_a_plain_onnx_file_is_not_a_genforge_model(tmp_path):
    plain = make_model(tmp_path / "plain.onnx", meta={"author": "someone"})
    with pytest.raises(NotAGenforgeModel, match="plain.onnx: not a genforge model") as e:
        genforge_runtime.load(plain, device="cpu")
    one_line(e)
    partial = make_model(tmp_path / "partial.onnx", meta=manifest(True, latent_dim=None))
    with pytest.raises(NotAGenforgeModel, match="partial.onnx: incomplete genforge manifest"):
        genforge_runtime.load(partial, device="cpu")


def test_not_onnx_and_missing_files(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(NotAGenforgeModel, match="junk.onnx: onnxruntime cannot load it") as e:
        genforge_runtime.load(junk, device="cpu")
    one_line(e)
    assert isinstance(e.value, ValueError)
    with pytest.raises(FileNotFoundError, match="nothing.onnx: no such file"):
        genforge_runtime.load(tmp_path / "nothing.onnx")
    with pytest.raises(ValueError, match="device 'tpu'"):
        genforge_runtime.load(junk, device="tpu")


def test_threads_option(toy):
    s = genforge_runtime.load(toy, device="cpu", threads=1)
    assert s.session.get_session_options().intra_op_num_threads == 1
    assert np.array_equal(s.sample(5, seed=0), genforge_runtime.load(toy).sample(5, seed=0))
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="threads: expected a positive integer"):
            genforge_runtime.load(toy, threads=bad)
    with pytest.raises(ValueError, match=r"threads: at most \d+ \(this machine's CPUs\), got 10000000"):
        genforge_runtime.load(toy, threads=10**7)  # onnxruntime would try to start them all


def test_threads_of_an_app_can_share_one_sampler(toy):
    from concurrent.futures import ThreadPoolExecutor

    s = genforge_runtime.load(toy, device="cpu")
    want = [s.sample(33, seed=i, batch_size=8) for i in range(16)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: s.sample(33, seed=i, batch_size=8), range(16)))
        fresh = list(pool.map(lambda i: s.sample(1), range(400)))  # no seed: a fresh seed per call
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    assert len({x.tobytes() for x in fresh}) == 400


def test_threads_can_share_an_iterative_sampler(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    s = genforge_runtime.load(make_step_model(tmp_path / "step.onnx"), device="cpu", threads=1)
    calls = [dict(labels=i % CLASSES, seed=i % 6, **opts) for i, opts in enumerate(
        [{}, {"sampler": "dpmpp_2m"}, {"guidance": 2.0}, {"steps": 7, "sampler": "ddim", "eta": 1.0}] * 12)]
    want = [s.sample(5, **kw) for kw in calls]  # ddpm and ddim (eta 1) draw step noise
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda kw: s.sample(5, **kw), calls))
        fresh = list(pool.map(lambda i: s.sample(2, labels=0, batch_size=1), range(48)))  # no seed
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    assert len({x.tobytes() for x in fresh}) == 48
