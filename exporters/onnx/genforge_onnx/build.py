"""From a loaded checkpoint to a verified ONNX model with its manifest (in memory)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch

from genforge import GenforgeError, SupportsEncoderExport, supports
from genforge_onnx.graph import append_uint8_tail, to_fp16, torch_to_onnx
from genforge_onnx.manifest import build_manifest, output_layout
from genforge_onnx.options import ExportOptions
from genforge_onnx.verify import Verification, runtime, specs_of, verify


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


def graph_parts(loaded: Any, opts: ExportOptions) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...],
                                                            list[str], list[str]]:
    """``export_module()`` (or ``export_encoder()``) with the artefact contract checked."""
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
    want_in = (["x"] if opts.encoder else ["z"]) + (["labels"] if model.conditional else [])
    want_out = ["mean", "logvar"] if opts.encoder else ["samples"]
    if list(in_names) != want_in or list(out_names) != want_out:
        raise GenforgeError(f"model {name!r}: export graph has inputs {list(in_names)} and outputs "
                            f"{list(out_names)}; the genforge ONNX contract needs {want_in} -> {want_out}")
    if model.conditional and inputs[-1].dtype != torch.int64:
        raise GenforgeError(f"model {name!r}: labels must be int64, the example is {inputs[-1].dtype}")
    return module, tuple(inputs), list(in_names), list(out_names)


def build_verified(loaded: Any, opts: ExportOptions) -> Built:
    """Export, convert (fp16, uint8 tail), verify and attach the manifest; nothing touches disk."""
    runtime()  # before the slow export: fail first if onnxruntime is missing or doubled
    module, inputs, in_names, out_names = graph_parts(loaded, opts)
    info = loaded.info
    image = info.kind == "image"
    uint8 = opts.output == "uint8"
    if uint8 and (not image or info.value_range != (0.0, 1.0)):
        raise GenforgeError(f"--output uint8 needs image samples in [0, 1]; {info.name or 'the data'} "
                            f"is {info.kind} data with value range {info.value_range}")
    with eval_mode(module):
        model = torch_to_onnx(module, inputs, in_names, out_names, opts.opset)
        if opts.fp16:
            model = to_fp16(model)
        if uint8:
            model = append_uint8_tail(model)
        if not opts.encoder:
            with torch.no_grad():
                chw = tuple(module(*inputs).shape[1:])
        specs = specs_of(inputs, in_names)
        output_range = info.value_range if image and not opts.encoder else None
        verification = verify(
            model, module, specs, num_classes=info.num_classes,
            input_range=info.value_range, output_range=output_range, fp16=opts.fp16, uint8=uint8)
    if opts.encoder:
        shape, layout = tuple(info.shape), "NC"
    else:
        shape = (chw[1], chw[2], chw[0]) if uint8 else chw
        layout = output_layout(chw, uint8)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    manifest = build_manifest(loaded, opts, opset, shape, layout, output_range, verification)
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
    opts = ExportOptions.parse({"part": meta.get("part"), "fp16": meta.get("precision") == "float16",
                                "output": "uint8" if meta.get("output_dtype") == "uint8" else "float"})
    module, inputs, in_names, _ = graph_parts(loaded, opts)
    info = loaded.info
    output_range = info.value_range if info.kind == "image" and not opts.encoder else None
    with eval_mode(module):
        return verify(model, module, specs_of(inputs, in_names), num_classes=info.num_classes,
                      input_range=info.value_range, output_range=output_range, fp16=opts.fp16,
                      uint8=opts.output == "uint8")
