"""Provider selection without a GPU: onnxruntime's CUDA reporting is faked, the checks are real."""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort
import pytest

import genforge_runtime
from genforge_runtime import RuntimeUnavailable
from genforge_runtime.session import CPU, CUDA, parse_device

REAL_SESSION = ort.InferenceSession


class FakeOrt:
    """Stands in for onnxruntime's provider list and InferenceSession.

    ``cuda`` says what a CUDA session does: ``"falls-back"`` (reports only CPU, as
    onnxruntime-gpu does without a usable GPU), ``"raises"``, ``"works"`` (a real CPU
    session that reports CUDA, so the I/O-binding path runs for real on the CPU), or
    ``"shape-nodes"`` (refuses the no-fallback flag like a graph with CPU-placed shape nodes,
    then works).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, available: list[str], cuda: str) -> None:
        self.available, self.cuda, self.calls, self.bindings = available, cuda, [], 0
        monkeypatch.setattr(ort, "get_available_providers", lambda: list(self.available))
        monkeypatch.setattr(ort, "InferenceSession", self.session)

    def session(self, path, sess_options=None, providers=None):
        names = [p[0] if isinstance(p, tuple) else p for p in providers or []]
        fallback = None
        if CUDA in names:
            try:
                fallback = sess_options.get_session_config_entry("session.disable_cpu_ep_fallback")
            except RuntimeError:  # onnxruntime raises for a key never set
                fallback = "unset"
        self.calls.append((names, fallback))
        real = REAL_SESSION(path, providers=[CPU])
        if CUDA not in names:
            return real
        if self.cuda == "raises":
            raise RuntimeError("CUDA failure 35: CUDA driver version is insufficient\nmore detail")
        if self.cuda == "shape-nodes" and fallback == "1":
            raise RuntimeError("This session contains graph nodes that are assigned to the default "
                               "CPU EP, but fallback to CPU EP has been explicitly disabled by the user.")
        reported = [CUDA, CPU] if self.cuda in ("works", "shape-nodes") else [CPU]
        fake = self

        class Session:
            def get_providers(self):
                return reported

            def io_binding(self):
                fake.bindings += 1
                return real.io_binding()

            def __getattr__(self, name):
                return getattr(real, name)

        return Session()


def test_parse_device():
    assert parse_device("auto") == ("auto", 0) and parse_device("CUDA:1") == ("cuda", 1)
    assert parse_device("cpu") == ("cpu", 0)
    for bad in ("gpu", "cpu:1", "cuda:x", ""):
        with pytest.raises(ValueError, match="expected one of auto, cpu, cuda, cuda:N"):
            parse_device(bad)


def test_cuda_that_silently_runs_on_cpu_is_an_error(toy, monkeypatch):
    fake = FakeOrt(monkeypatch, [CUDA, CPU], cuda="falls-back")
    with pytest.raises(RuntimeUnavailable, match="fell back to") as e:
        genforge_runtime.load(toy, device="cuda")
    assert "\n" not in str(e.value) and isinstance(e.value, RuntimeError)
    assert fake.calls == [([CUDA], "1")]  # CUDA alone, CPU fallback disabled


def test_auto_falls_back_to_cpu_and_says_so(toy, monkeypatch, caplog):
    fake = FakeOrt(monkeypatch, [CUDA, CPU], cuda="falls-back")
    with caplog.at_level(logging.INFO, logger="genforge_runtime"):
        s = genforge_runtime.load(toy, device="auto")
    assert s.provider == CPU and fake.calls == [([CUDA], "1"), ([CPU], None)]
    assert "CUDA not usable" in caplog.text and f"runs on {CPU}" in caplog.text
    assert s.sample(3, seed=0).shape == (3, 1, 2, 2)


def test_cuda_session_errors_become_one_line(toy, monkeypatch):
    FakeOrt(monkeypatch, [CUDA, CPU], cuda="raises")
    with pytest.raises(RuntimeUnavailable, match="driver version is insufficient$"):
        genforge_runtime.load(toy, device="cuda")
    assert genforge_runtime.load(toy, device="auto").provider == CPU


def test_a_cpu_only_build(toy, monkeypatch):
    fake = FakeOrt(monkeypatch, [CPU], cuda="works")
    with pytest.raises(RuntimeUnavailable, match="has no CUDAExecutionProvider"):
        genforge_runtime.load(toy, device="cuda")
    assert genforge_runtime.load(toy).provider == CPU
    assert fake.calls == [([CPU], None)]  # auto did not even try CUDA


def test_the_cuda_path_uses_io_binding_and_matches_cpu(toy, monkeypatch, caplog):
    cpu = genforge_runtime.load(toy, device="cpu")
    fake = FakeOrt(monkeypatch, [CUDA, CPU], cuda="works")
    with caplog.at_level(logging.INFO, logger="genforge_runtime"):
        gpu = genforge_runtime.load(toy, device="cuda:0")
    assert gpu.provider == CUDA and f"runs on {CUDA}" in caplog.text
    for kwargs in ({"labels": 1}, {}, {"batch_size": 3}):
        assert np.array_equal(gpu.sample(10, seed=5, **kwargs), cpu.sample(10, seed=5, **kwargs))
    assert np.array_equal(gpu.sample(1, seed=2), cpu.sample(1, seed=2))
    assert fake.bindings == 1 + 1 + 4 + 1  # one binding per session call (4 chunks of <= 3)


def test_cpu_placed_shape_nodes_retry_without_the_flag(toy, monkeypatch):
    fake = FakeOrt(monkeypatch, [CUDA, CPU], cuda="shape-nodes")
    assert genforge_runtime.load(toy, device="cuda").provider == CUDA
    assert fake.calls == [([CUDA], "1"), ([CUDA], "unset")]


def test_cuda_session_errors_are_not_misread_as_shape_nodes(toy, monkeypatch):
    fake = FakeOrt(monkeypatch, [CUDA, CPU], cuda="raises")
    with pytest.raises(RuntimeUnavailable):
        genforge_runtime.load(toy, device="cuda")
    assert fake.calls == [([CUDA], "1")]
