"""The ONNX check: the installed ``onnx`` exporter exports the model and onnxruntime matches PyTorch."""

from __future__ import annotations

import contextlib
import io

import torch

from genforge.entries import ExporterEntry
from genforge.errors import GenforgeError
from genforge.testing.model_checks import seeded
from genforge.testing.results import ConformanceError, NotApplicable
from genforge.testing.runs import reference_run, scratch
from genforge.testing.subject import Subject

#: Largest allowed |onnxruntime - PyTorch|, relative to max(1, max |PyTorch output|).
TOLERANCE = 1e-4


def check_onnx(subject: Subject, kind: str) -> None:
    """``genforge export --format onnx`` works and onnxruntime reproduces ``generate``."""
    import genforge

    entry = subject.plugins.registries["exporters"].get("onnx")
    if not isinstance(entry, ExporterEntry):
        raise NotApplicable("no 'onnx' exporter is installed (pip install genforge-onnx)")
    try:
        import onnxruntime as ort
    except ImportError:
        raise NotApplicable("onnxruntime is not installed") from None
    ref = reference_run(subject, kind)
    loaded = genforge.load(ref.out, device="cpu", plugins=subject.plugins)
    target = scratch(f"{subject.name}-onnx") / f"{subject.name}.onnx"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            path = entry.load().export(loaded, target, {})
    except GenforgeError as e:
        raise ConformanceError(f"ONNX export failed: {e}. Fix: export_module() must return a pure "
                               "graph that torch.onnx.export(dynamo=True) traces for any batch size "
                               "(reshape with -1, not len(z)), z (+ int64 labels) in, samples out"
                               ) from None
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    model = loaded.model.eval()
    k = max(loaded.info.num_classes, 1)
    for n in (1, 5):
        z = torch.randn(n, model.latent_dim, generator=seeded(n))
        labels = torch.arange(n) % k if model.conditional else None
        feeds = {"z": z.numpy()} | ({"labels": labels.numpy()} if labels is not None else {})
        got = torch.from_numpy(session.run(["samples"], feeds)[0])
        with torch.no_grad():
            want = model.generate(z, labels).float()
        if got.shape != want.shape:
            raise ConformanceError(f"the ONNX file returns {tuple(got.shape)} at batch {n}; "
                                   f"generate returns {tuple(want.shape)}. Fix: make export_module() "
                                   "compute exactly what generate() computes")
        err = float((got - want).abs().max())
        tol = TOLERANCE * max(1.0, float(want.abs().max()))
        if not err <= tol:
            raise ConformanceError(f"the ONNX file differs from generate at batch {n}: max |diff| "
                                   f"{err:.3g} > {tol:.3g}. Fix: make export_module() compute "
                                   "exactly what generate() computes")
