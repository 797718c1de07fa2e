"""The ``triton`` exporter: a Triton Inference Server model-repository entry.

``OUT/NAME/config.pbtxt`` (onnxruntime backend, dynamic batching) and
``OUT/NAME/1/model.onnx`` (the same verified file the ``onnx`` exporter writes).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto

from genforge import GenforgeError
from genforge_onnx.build import build_verified
from genforge_onnx.files import cleanup_on_error, make_dirs, save_checked
from genforge_onnx.options import ExportOptions

TRITON_TYPES: dict[int, str] = {
    TensorProto.FLOAT: "TYPE_FP32", TensorProto.FLOAT16: "TYPE_FP16", TensorProto.DOUBLE: "TYPE_FP64",
    TensorProto.INT64: "TYPE_INT64", TensorProto.INT32: "TYPE_INT32", TensorProto.UINT8: "TYPE_UINT8",
    TensorProto.INT8: "TYPE_INT8", TensorProto.BOOL: "TYPE_BOOL",
}
#: Triton waits at most this long to gather requests into one batch.
QUEUE_DELAY_US = 100


def tensor_entry(value: onnx.ValueInfoProto) -> str:
    """One ``input``/``output`` block: name, data type, dims without the batch axis."""
    t = value.type.tensor_type
    if t.elem_type not in TRITON_TYPES:
        raise GenforgeError(f"triton: {value.name!r} has an ONNX type Triton's onnxruntime backend "
                            f"does not map ({onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)})")
    dims = t.shape.dim[1:]
    if any(not d.HasField("dim_value") for d in dims):
        raise GenforgeError(f"triton: {value.name!r} has a non-batch axis of unknown size")
    shape = [d.dim_value for d in dims]
    lines = [f'    name: "{value.name}"', f"    data_type: {TRITON_TYPES[t.elem_type]}"]
    if shape:
        lines.append(f"    dims: [ {', '.join(map(str, shape))} ]")
    else:  # a [N] tensor: Triton needs one dim per element; reshape drops it for the model
        lines += ["    dims: [ 1 ]", "    reshape: { shape: [ ] }"]
    return "  {\n" + "\n".join(lines) + "\n  }"


def config_pbtxt(model: onnx.ModelProto, name: str, max_batch_size: int) -> str:
    """The model configuration in protobuf text format, read off the model's real signature."""
    manifest = {p.key: p.value for p in model.metadata_props}
    inputs = ",\n".join(tensor_entry(v) for v in model.graph.input)
    outputs = ",\n".join(tensor_entry(v) for v in model.graph.output)
    header = (f"# genforge {manifest.get('genforge.model', '?')} from "
              f"{manifest.get('genforge.family', '?')}, opset {manifest.get('opset', '?')}; "
              "the manifest is in 1/model.onnx's metadata_props.\n")
    return (f'{header}name: "{name}"\nbackend: "onnxruntime"\nmax_batch_size: {max_batch_size}\n'
            f"input [\n{inputs}\n]\noutput [\n{outputs}\n]\n"
            f"dynamic_batching {{\n  max_queue_delay_microseconds: {QUEUE_DELAY_US}\n}}\n")


def write_repository_entry(model: onnx.ModelProto, entry: Path, config: str, verification: Any) -> None:
    """Write ``entry/config.pbtxt`` and ``entry/1/model.onnx``; on failure leave nothing new."""
    created: list[Path] = []
    with cleanup_on_error(created):
        make_dirs(entry.parent, created)
        staging = entry.with_name(f".{entry.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "1").mkdir(parents=True)
        created.append(staging)
        save_checked(model, staging / "1" / "model.onnx", verification)
        (staging / "config.pbtxt").write_text(config)
        if not entry.exists():
            os.replace(staging, entry)
            return
        (entry / "1").mkdir(exist_ok=True)
        os.replace(staging / "1" / "model.onnx", entry / "1" / "model.onnx")
        os.replace(staging / "config.pbtxt", entry / "config.pbtxt")
        shutil.rmtree(staging)


class TritonExporter:
    """Exports a verified ONNX model into a Triton model repository folder."""

    def export(self, loaded: Any, path: Path, options: Mapping[str, Any] | None = None) -> Path:
        """Write ``path/NAME/config.pbtxt`` and ``path/NAME/1/model.onnx``; return ``path/NAME``."""
        opts = ExportOptions.parse(options)
        name = opts.name or loaded.config.model_entry.name
        if loaded.model.sampling_process() is not None and not opts.encoder:
            raise GenforgeError(f"triton: {name!r} samples in a loop, which this exporter does not "
                                "serve; export --format onnx and sample it with genforge-run or "
                                "genforge_runtime (which run the loop)")
        entry = Path(path) / name
        if entry.exists() and not entry.is_dir():
            raise GenforgeError(f"{entry}: exists and is not a folder")
        built = build_verified(loaded, opts)
        write_repository_entry(built.model, entry, config_pbtxt(built.model, name, opts.max_batch_size),
                               built.verification)
        if opts.verbose:
            print(f"verified {name}/1/model.onnx: {built.verification.summary()}")
        return entry


#: The object the ``triton`` exporter name resolves to.
exporter = TritonExporter()
