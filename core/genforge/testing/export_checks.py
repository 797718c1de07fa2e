"""The ONNX check: the ``onnx`` exporter exports the model and the runtime matches PyTorch per seed."""

from __future__ import annotations

import contextlib
import io

import torch

from genforge.entries import ExporterEntry
from genforge.errors import GenforgeError
from genforge.testing.results import ConformanceError, NotApplicable
from genforge.testing.runs import reference_run, scratch
from genforge.testing.subject import Subject

#: Largest allowed |onnxruntime - PyTorch|, relative to max(1, max |PyTorch output|).
TOLERANCE = 1e-4


def check_onnx(subject: Subject, kind: str) -> None:
    """``genforge export --format onnx`` works and genforge_runtime samples the file as ``sample`` does."""
    import genforge

    entry = subject.plugins.registries["exporters"].get("onnx")
    if not isinstance(entry, ExporterEntry):
        raise NotApplicable("no 'onnx' exporter is installed (pip install genforge-onnx)")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise NotApplicable("onnxruntime is not installed") from None
    import genforge_runtime

    ref = reference_run(subject, kind)
    loaded = genforge.load(ref.out, device="cpu", plugins=subject.plugins)
    model = loaded.model.eval()
    iterative = model.sampling_process() is not None
    target = scratch(f"{subject.name}-onnx") / f"{subject.name}.onnx"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            path = entry.load().export(loaded, target, {})
    except GenforgeError as e:
        contract = ("x, t (+ int64 labels) in, prediction out" if iterative
                    else "z (+ int64 labels) in, samples out")
        raise ConformanceError(f"ONNX export failed: {e}. Fix: export_module() must return a pure "
                               "graph that torch.onnx.export(dynamo=True) traces for any batch size "
                               f"(reshape with -1, not len(z)), {contract}") from None
    sampler = genforge_runtime.load(path, device="cpu")
    k = max(loaded.info.num_classes, 1)
    for n in (1, 5):
        labels = [i % k for i in range(n)] if model.conditional else None
        got = torch.from_numpy(sampler.sample(n, labels=labels, seed=n))
        want = loaded.sample(n, labels=labels, seed=n)
        if got.shape != want.shape:
            raise ConformanceError(f"genforge_runtime returns {tuple(got.shape)} from the ONNX file at "
                                   f"batch {n}; sample returns {tuple(want.shape)}. {_fix(iterative)}")
        err = float((got - want).abs().max())
        tol = TOLERANCE * max(1.0, float(want.abs().max()))
        if not err <= tol:
            raise ConformanceError(f"the ONNX file sampled by genforge_runtime differs from sample() "
                                   f"for seed {n} at batch {n}: max |diff| {err:.3g} > {tol:.3g}. "
                                   f"{_fix(iterative)}")


def _fix(iterative: bool) -> str:
    if iterative:
        return ("Fix: generate must run genforge.iterate(...) on the network export_module() returns "
                "(the runtime runs the same sampler on the file), with per-step noise from its noise "
                "argument")
    return "Fix: make export_module() compute exactly what generate() computes"
