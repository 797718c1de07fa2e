"""Reading the genforge manifest from an ONNX file's ``metadata_props``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from genforge_runtime.contract import INPUTS
from genforge_runtime.errors import NotAGenforgeModel, short
from genforge_runtime.noise import VERSIONS

INT_KEYS = ("opset", "latent_dim", "num_classes")
FLOAT_KEYS = ("max_abs_error", "tolerance")
JSON_KEYS = ("class_names", "output_range", "sample_shape", "conditional", "sampling")
OUTPUT_DTYPES = ("float32", "float16", "uint8")
#: What the runtime reads; other keys (``genforge.version``, ``source_sha256``, ...) may be absent.
REQUIRED = ("genforge.model", "part", "conditional", "latent_dim", "num_classes", "sample_shape",
            "output_dtype", "output_layout", "output_range")
#: Keys that may be absent, and the values they take when present.
CHOICES = {"precision": ("float32", "float16"), "latent_distribution": ("normal",)}
#: The version of the noise contract the file was exported under; absent in files written before
#: it existed (version 1), which are sampled with the current contract.
NOISE_KEY = "genforge.noise"


def parse_manifest(metadata: dict[str, str], path: str | Path) -> dict[str, Any]:
    """The manifest with ints, floats and JSON values decoded; one-line error if it is not one."""
    if not any(k.startswith("genforge.") for k in metadata):
        raise NotAGenforgeModel(f"{path}: not a genforge model (no genforge.* metadata in the ONNX file)")
    missing = [k for k in REQUIRED if k not in metadata]
    if missing:
        raise NotAGenforgeModel(f"{path}: incomplete genforge manifest (missing {', '.join(missing)})")
    info: dict[str, Any] = dict(sorted(metadata.items()))
    info[NOISE_KEY] = noise_version(info.get(NOISE_KEY, "1"), path)
    try:
        for key in INT_KEYS:
            if key in info:
                info[key] = int(info[key])
        for key in FLOAT_KEYS:
            if key in info:
                info[key] = float(info[key])
        for key in JSON_KEYS:
            if key in info:
                info[key] = json.loads(info[key])
    except ValueError as e:
        raise NotAGenforgeModel(f"{path}: unreadable genforge manifest value: {e}") from None
    check_values(info, path)
    return info


def noise_version(text: str, path: str | Path) -> int:
    """The manifest's noise contract version, or a one-line refusal naming the field."""
    version = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None
    if version not in VERSIONS:
        raise NotAGenforgeModel(f"{path}: manifest {NOISE_KEY} {short(text)}: this genforge-runtime samples "
                                f"noise contract versions {' and '.join(map(str, VERSIONS))}; a newer "
                                "genforge-runtime may read this file")
    return version


def _count(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def check_values(info: dict[str, Any], path: str | Path) -> None:
    """Refuse manifest values no genforge export writes (the file was edited): one line each."""
    shape = info["sample_shape"]
    bad = [f"{key} {short(info[key])}" for key in ("latent_dim", "num_classes") if not _count(info[key], 0)]
    if not (isinstance(shape, list) and shape and all(_count(d, 1) for d in shape)):
        bad.append(f"sample_shape {short(shape)}")
    if info["output_dtype"] not in OUTPUT_DTYPES:
        bad.append(f"output_dtype {short(info['output_dtype'])}")
    if info["part"] not in INPUTS:
        bad.append(f"part {short(info['part'])}")
    if not isinstance(info["conditional"], bool):
        bad.append(f"conditional {short(info['conditional'])}")
    bad += [f"{key} {short(info[key])}" for key, values in CHOICES.items()
            if info.get(key, values[0]) not in values]
    span = info.get("output_range")
    if span is not None and not (isinstance(span, list) and len(span) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in span)
            and span[0] < span[1]):
        bad.append(f"output_range {short(span)}")
    names = info.get("class_names", [])
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        bad.append(f"class_names {short(names)}")
    if bad:
        raise NotAGenforgeModel(f"{path}: genforge manifest value out of range: {', '.join(bad)}")
