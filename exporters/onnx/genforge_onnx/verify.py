"""Verification: onnx.checker, then onnxruntime (CPU) against PyTorch on fixed inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import onnx
import torch

from genforge import GenforgeError
from genforge_onnx.options import VERIFY_BATCHES
from genforge_runtime.backend import onnxruntime
from genforge_runtime.errors import RuntimeUnavailable

if TYPE_CHECKING:
    import onnxruntime as ort

#: Largest allowed |onnxruntime - PyTorch|, on the [0, 1] scale of samples (a wider or
#: unknown range scales it: by the range's width, or by max(1, max |PyTorch output|)).
FP32_TOLERANCE = 1e-4
FP16_TOLERANCE = 1e-2
#: uint8 outputs: allowed difference in counts (1: a rounding flip at a .5 boundary).
UINT8_TOLERANCE = 1
#: uint8 of an fp16 model: the fp16 tolerance (0.01 * 255 = 2.55) rounded up.
UINT8_FP16_TOLERANCE = 3


@dataclass(frozen=True)
class InputSpec:
    """One graph input: its name, numpy dtype and the shape of one batch element (of all of
    it when ``batched`` is False)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    batched: bool = True


@dataclass
class Verification:
    """The outcome of a passed verification."""

    max_abs_error: float
    tolerance: float
    unit: str
    per_batch: dict[int, float]
    probe: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    probe_outputs: list[np.ndarray] = field(repr=False, default_factory=list)

    def summary(self) -> str:
        """One line for the console."""
        sizes = ", ".join(str(b) for b in self.per_batch)
        unit = f" {self.unit}" if self.unit else ""
        return (f"onnx.checker ok; onnxruntime CPU vs PyTorch at batch {sizes}: max abs error "
                f"{self.max_abs_error:.2e}{unit} (tolerance {self.tolerance:g})")


def specs_of(example_inputs: Sequence[torch.Tensor], names: Sequence[str],
             batchless: Sequence[str] = ()) -> list[InputSpec]:
    """Input specs from ``export_module``'s example inputs (dim 0 is the batch but in ``batchless``)."""
    return [InputSpec(n, np.dtype(str(t.dtype).removeprefix("torch.")),
                      tuple(t.shape if n in batchless else t.shape[1:]), batched=n not in batchless)
            for n, t in zip(names, example_inputs, strict=True)]


def fixed_inputs(specs: Sequence[InputSpec], n: int, num_classes: int,
                 value_range: Sequence[float] | None,
                 t_range: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    """Deterministic inputs for ``n`` samples: z ~ N(0, 1), images uniform in range, labels cycling.

    A step network's time ``t`` is uniform in ``t_range`` (whole numbers for diffusion timesteps).
    """
    rng = np.random.default_rng(12345 + n)
    feeds: dict[str, np.ndarray] = {}
    for s in specs:
        shape = (n, *s.shape) if s.batched else s.shape
        if s.name == "t" and t_range is not None:
            lo, hi = t_range
            t = lo + (hi - lo) * rng.random(shape)
            feeds[s.name] = (np.round(t) if hi > 1.0 else t).astype(s.dtype)
        elif np.issubdtype(s.dtype, np.integer):
            k = max(num_classes, 1)
            feeds[s.name] = (np.arange(n) % k).astype(s.dtype).reshape(shape)
        elif s.name == "z" or value_range is None:
            feeds[s.name] = rng.standard_normal(shape, dtype=np.float32).astype(s.dtype)
        else:
            lo, hi = value_range
            feeds[s.name] = (lo + (hi - lo) * rng.random(shape, dtype=np.float32)).astype(s.dtype)
    return feeds


def torch_outputs(module: torch.nn.Module, feeds: dict[str, np.ndarray],
                  specs: Sequence[InputSpec]) -> list[np.ndarray]:
    """Run the PyTorch module on the same inputs (inference mode, its own device)."""
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    args = [torch.from_numpy(feeds[s.name]).to(device) for s in specs]
    with torch.inference_mode():
        out = module(*args)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o.detach().float().cpu().numpy() for o in outs]


def as_uint8_nhwc(x: np.ndarray) -> np.ndarray:
    """What the uint8 graph tail computes: round(clip(x, 0, 1) * 255) as uint8 NHWC."""
    return np.round(np.clip(x.transpose(0, 2, 3, 1), 0.0, 1.0) * 255.0).astype(np.uint8)


def max_difference(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| in float64; NaN in one but not the other counts as infinite."""
    a, b = got.astype(np.float64), want.astype(np.float64)
    if a.shape != b.shape:
        raise GenforgeError(f"verification failed: onnxruntime gave shape {list(a.shape)}, "
                            f"PyTorch {list(b.shape)}")
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        return float("inf")
    d = np.abs(np.where(nan_a, 0.0, a) - np.where(nan_b, 0.0, b))
    return float(d.max()) if d.size else 0.0


def tolerance_for(fp16: bool, uint8: bool, value_range: Sequence[float] | None,
                  reference: Sequence[np.ndarray]) -> tuple[float, str]:
    """The absolute tolerance and its unit for this export's outputs."""
    if uint8:
        return float(UINT8_FP16_TOLERANCE if fp16 else UINT8_TOLERANCE), "counts"
    base = FP16_TOLERANCE if fp16 else FP32_TOLERANCE
    if value_range is not None:
        return base * float(value_range[1] - value_range[0]), ""
    peak = max((float(np.abs(r).max()) for r in reference if r.size), default=1.0)
    return base * max(1.0, peak), ""


def runtime() -> ModuleType:
    """onnxruntime, or a one-line ``GenforgeError`` naming the package to install or remove."""
    try:
        return onnxruntime()
    except RuntimeUnavailable as e:
        raise GenforgeError(f"verifying an ONNX export needs onnxruntime: {e}") from None


def cpu_session(model: bytes | str | Path) -> ort.InferenceSession:
    """An onnxruntime session on the CPU provider with warnings silenced."""
    ort = runtime()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, so, providers=["CPUExecutionProvider"])


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def verify(
    model: onnx.ModelProto,
    module: torch.nn.Module,
    specs: Sequence[InputSpec],
    *,
    num_classes: int,
    input_range: Sequence[float] | None,
    output_range: Sequence[float] | None,
    fp16: bool,
    uint8: bool,
    batches: Sequence[int] = VERIFY_BATCHES,
    t_range: Sequence[float] | None = None,
) -> Verification:
    """Check the model, then compare onnxruntime with PyTorch; raise ``GenforgeError`` on failure."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise GenforgeError(f"verification failed: onnx.checker: {_first_line(e)}") from None
    try:
        session = cpu_session(model.SerializeToString())
    except Exception as e:  # onnxruntime's own exception types are not importable by name
        raise GenforgeError(f"verification failed: onnxruntime cannot load the graph: "
                            f"{_first_line(e)}") from None
    errors: dict[int, float] = {}
    tolerances: dict[int, float] = {}
    unit = ""
    probe: dict[str, np.ndarray] = {}
    probe_outputs: list[np.ndarray] = []
    for n in batches:
        feeds = fixed_inputs(specs, n, num_classes, input_range, t_range)
        reference = torch_outputs(module, feeds, specs)
        if not all(np.isfinite(r).all() for r in reference):
            raise GenforgeError(f"verification failed: the model's outputs at batch {n} are NaN or "
                                "infinite (diverged weights); nothing was written")
        want = [as_uint8_nhwc(r) for r in reference] if uint8 else reference
        try:
            got = session.run(None, feeds)
        except Exception as e:
            raise GenforgeError(f"verification failed at batch {n}: onnxruntime: {_first_line(e)}") from None
        tol, unit = tolerance_for(fp16, uint8, output_range, reference)
        tolerances[n] = tol
        errors[n] = max(max_difference(g, w) for g, w in zip(got, want, strict=True))
        if not errors[n] <= tol:
            shown = f"{errors[n]:.3g}" + (f" {unit}" if unit else "")
            raise GenforgeError(f"verification failed: max abs error {shown} at batch {n} exceeds "
                                f"the tolerance {tol:.3g}; nothing was written")
        if not probe or n == 7:
            probe, probe_outputs = feeds, got
    return Verification(max(errors.values()), min(tolerances.values()), unit, errors, probe, probe_outputs)


def check_written(path: Path, verification: Verification) -> None:
    """Reload the written file and require the verified outputs bit for bit."""
    try:
        got = cpu_session(path).run(None, verification.probe)
    except Exception as e:
        raise GenforgeError(f"{path}: the written file does not load: {_first_line(e)}") from None
    for g, w in zip(got, verification.probe_outputs, strict=True):
        if g.shape != w.shape or not np.array_equal(g, w, equal_nan=g.dtype.kind == "f"):
            raise GenforgeError(f"{path}: the written file computes different outputs than the "
                                "verified graph")
