"""Reading the genforge manifest from an ONNX file's ``metadata_props``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genforge_runtime.errors import NotAGenforgeModel

INT_KEYS = ("opset", "latent_dim", "num_classes")
FLOAT_KEYS = ("max_abs_error", "tolerance")
JSON_KEYS = ("class_names", "output_range", "sample_shape", "conditional")
REQUIRED = ("genforge.model", "latent_dim", "num_classes", "sample_shape", "output_dtype")


def parse_manifest(metadata: dict[str, str], path: str | Path) -> dict[str, Any]:
    """The manifest with ints, floats and JSON values decoded; one-line error if it is not one."""
    if not any(k.startswith("genforge.") for k in metadata):
        raise NotAGenforgeModel(f"{path}: not a genforge model (no genforge.* metadata in the ONNX file)")
    missing = [k for k in REQUIRED if k not in metadata]
    if missing:
        raise NotAGenforgeModel(f"{path}: incomplete genforge manifest (missing {', '.join(missing)})")
    info: dict[str, Any] = dict(sorted(metadata.items()))
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
    return info
