"""From a loaded checkpoint to a verified ONNX model with its manifest (in memory)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch

from genforge import GenforgeError, Process, SupportsEncoderExport, supports
from genforge_onnx.graph import append_uint8_tail, to_fp16, torch_to_onnx
from genforge_onnx.manifest import build_manifest
from genforge_onnx.options import STEP_PART, ExportOptions
from genforge_onnx.verify import Verification, runtime, specs_of, verify
from genforge_runtime.contract import layout_of
from genforge_runtime.samplers import UPDATE_INPUTS, UPDATE_OUTPUTS, combine


@dataclass
class Built:
    """A verified ONNX model (manifest included) and how it verified."""

    model: onnx.ModelProto
    verification: Verification
    manifest: dict[str, str]


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put every submodule in eval mode and restore each one's flag afterwards."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in flags:
            m.training = flag


#: Inputs without a batch axis (the five coefficients of one call).
BATCHLESS = ["coef"]


class StepUpdate(torch.nn.Module):
    """The step network followed by a sampler call's update (``genforge_runtime.samplers.Call``).

    ``(x, t[, labels], aux, coef) -> (prediction, x_next, carry)`` with ``coef`` =
    ``(a, b, c, d, e)``: ``x_next = a x + b prediction + c aux``, ``carry = d x + e prediction``.
    The runtime then makes one session call per network call and no array arithmetic.
    """

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor, t: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
                w: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The prediction, the updated ``x`` and the carried array (``u, v, w``: labels, aux,
        coef for a conditional network; aux, coef otherwise)."""
        labels, aux, coef = (u, v, w) if w is not None else (None, u, v)
        out = self.network(x, t) if labels is None else self.network(x, t, labels)
        return (out, combine(x, out, aux, coef[0], coef[1], coef[2]),
                combine(x, out, None, coef[3], coef[4], 0.0))


def graph_parts(loaded: Any, opts: ExportOptions) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...],
                                                            list[str], list[str]]:
    """``export_module()`` (or ``export_encoder()``) with the artefact contract checked.

    An iterative model's step network comes wrapped in ``StepUpdate``.
    """
    model = loaded.model
    name = loaded.config.run.model.name
    try:
        if opts.encoder:
            if not supports(model, SupportsEncoderExport):
                raise GenforgeError(f"--part encoder: model {name!r} has no encoder to export")
            module, inputs, in_names, out_names = model.export_encoder()
        else:
            module, inputs, in_names, out_names = model.export_module()
    except NotImplementedError as e:
        raise GenforgeError(f"model {name!r} does not support export: {e}") from None
    iterative = model.sampling_process() is not None and not opts.encoder
    want_in = (["x"] if opts.encoder else ["x", "t"] if iterative else ["z"]) + (
        ["labels"] if model.conditional else [])
    want_out = ["mean", "logvar"] if opts.encoder else ["prediction"] if iterative else ["samples"]
    if list(in_names) != want_in or list(out_names) != want_out:
        raise GenforgeError(f"model {name!r}: export graph has inputs {list(in_names)} and outputs "
                            f"{list(out_names)}; the genforge ONNX contract needs {want_in} -> {want_out}")
    if model.conditional and inputs[-1].dtype != torch.int64:
        raise GenforgeError(f"model {name!r}: labels must be int64, the example is {inputs[-1].dtype}")
    if iterative:
        x = inputs[0]
        extra = (torch.zeros_like(x), torch.zeros(5, dtype=x.dtype, device=x.device))
        return (StepUpdate(module), (*inputs, *extra), [*in_names, *UPDATE_INPUTS],
                [*out_names, *UPDATE_OUTPUTS])
    return module, tuple(inputs), list(in_names), list(out_names)


def progress(opts: ExportOptions, message: str) -> None:
    """One progress line on stdout (when the export is verbose), shown at once."""
    if opts.verbose:
        print(message, flush=True)


def step_ranges(loaded: Any) -> tuple[Process | None, tuple[float, float] | None]:
    """An iterative model's process and the range of its network's time input (else ``None``s)."""
    process = loaded.model.sampling_process()
    if process is None:
        return None, None
    return process, ((0.0, float(process.train_steps - 1)) if process.kind == "diffusion" else (0.0, 1.0))


def build_verified(loaded: Any, opts: ExportOptions) -> Built:
    """Export, convert (fp16, uint8 tail), verify and attach the manifest; nothing touches disk."""
    runtime()  # before the slow export: fail first if onnxruntime is missing or doubled
    module, inputs, in_names, out_names = graph_parts(loaded, opts)
    info = loaded.info
    image = info.kind == "image"
    uint8 = opts.output == "uint8"
    process, t_range = step_ranges(loaded) if not opts.encoder else (None, None)
    if uint8 and (not image or info.value_range != (0.0, 1.0) or process is not None):
        raise GenforgeError(f"--output uint8 needs a one-shot model of image samples in [0, 1]; "
                            f"{info.name or 'the data'} is {info.kind} data with value range "
                            f"{info.value_range}" + (" and the model is iterative" if process else ""))
    what = "the one-step network" if process else opts.part_name
    with eval_mode(module):
        progress(opts, f"exporting {what} of {loaded.config.run.model.name} (torch.onnx.export) ...")
        model = torch_to_onnx(module, inputs, in_names, out_names, opts.opset, batchless=BATCHLESS)
        if opts.fp16:
            model = to_fp16(model)
        if uint8:
            model = append_uint8_tail(model)
        if not opts.encoder:
            with torch.no_grad():
                out = module(*inputs)
                chw = tuple((out[0] if isinstance(out, tuple) else out).shape[1:])
        specs = specs_of(inputs, in_names, batchless=BATCHLESS)
        # the range samples are clipped to: images', and every iterative model's (genforge.iterate clips)
        output_range = info.value_range if (image or process is not None) and not opts.encoder else None
        progress(opts, "verifying with onnx.checker and onnxruntime against PyTorch ...")
        verification = verify(
            model, module, specs, num_classes=info.num_classes,
            input_range=None if process else info.value_range, t_range=t_range,
            output_range=None if process else output_range, fp16=opts.fp16, uint8=uint8)
    if opts.encoder:
        shape, layout = tuple(info.shape), "NC"
    else:
        shape = (chw[1], chw[2], chw[0]) if uint8 else chw
        layout = layout_of(chw, uint8)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    manifest = build_manifest(loaded, opts, opset, shape, layout, output_range, verification, process)
    onnx.helper.set_model_props(model, manifest)
    model.doc_string = (f"genforge {manifest['genforge.model']} {opts.part_name} "
                        f"({manifest['genforge.family']}); see metadata_props")
    return Built(model, verification, manifest)


def verify_file(loaded: Any, path: Path) -> Verification:
    """Check an existing genforge ONNX file against the checkpoint it says it came from."""
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf's DecodeError and OSError alike
        raise GenforgeError(f"{path}: not a readable ONNX file: {e}") from None
    meta = {p.key: p.value for p in model.metadata_props}
    if "genforge.model" not in meta:
        raise GenforgeError(f"{path}: not a genforge ONNX file (no genforge.* metadata)")
    saved = loaded.saved
    if saved is not None and meta.get("source_sha256") not in ("", saved.weights_sha256()):
        raise GenforgeError(f"{path}: exported from other weights than {saved.weights_file} "
                            "(source_sha256 differs)")
    part = None if meta.get("part") == STEP_PART else meta.get("part")
    opts = ExportOptions.parse({"part": part, "fp16": meta.get("precision") == "float16",
                                "output": "uint8" if meta.get("output_dtype") == "uint8" else "float"})
    module, inputs, in_names, _ = graph_parts(loaded, opts)
    info = loaded.info
    process, t_range = step_ranges(loaded) if not opts.encoder else (None, None)
    output_range = info.value_range if info.kind == "image" and not opts.encoder and not process else None
    with eval_mode(module):
        specs = specs_of(inputs, in_names, batchless=BATCHLESS)
        return verify(model, module, specs, num_classes=info.num_classes,
                      input_range=None if process else info.value_range, t_range=t_range,
                      output_range=output_range, fp16=opts.fp16, uint8=opts.output == "uint8")
