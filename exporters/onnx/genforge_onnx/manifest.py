"""The genforge manifest: what an app needs to use an exported file, kept in ``metadata_props``."""

from __future__ import annotations

import json
from typing import Any

import genforge
from genforge import GenforgeError, Process, settings_of
from genforge_onnx.options import STEP_PART, ExportOptions
from genforge_onnx.verify import Verification
from genforge_runtime.noise import VERSION as NOISE_VERSION

#: Keys every genforge ONNX file carries (``genforge.model`` marks a file as genforge's).
KEYS = ("genforge.family", "genforge.model", "genforge.version", "genforge.noise", "opset", "part",
        "precision", "conditional", "latent_dim", "latent_distribution", "num_classes", "class_names",
        "output_range", "output_layout", "output_dtype", "sample_shape", "source_sha256",
        "max_abs_error", "tolerance")
#: Added for iterative models (``part`` ``step``): the process, default sampler settings, null label.
SAMPLING_KEY = "sampling"


def sampling_entry(loaded: Any, process: Process) -> str:
    """The ``sampling`` entry: process, default sampler settings (the run's, as changed), null label."""
    options = loaded.model.sampler_options
    if options is None:
        raise GenforgeError(f"model {loaded.config.run.model.name!r} is iterative but registered no "
                            "sample-time options (register(..., sampler=OptionsClass))")
    try:
        defaults = settings_of(options).check(process)
    except ValueError as e:
        raise GenforgeError(f"sampler options: {e}") from None
    null = loaded.model.null_label
    return json.dumps({"process": process.to_dict(), "defaults": defaults.to_dict(),
                       "null_label": None if null is None else int(null)})


def build_manifest(loaded: Any, opts: ExportOptions, opset: int, sample_shape: tuple[int, ...],
                   layout: str, output_range: tuple[float, float] | None,
                   verification: Verification, process: Process | None = None) -> dict[str, str]:
    """All manifest entries as strings (JSON for lists), from the checkpoint and the export."""
    model = loaded.model
    info = loaded.info
    conditional = bool(model.conditional)
    uint8 = opts.output == "uint8"
    saved = loaded.saved  # the checkpoint; None for a model that was not loaded from one
    manifest = {
        "genforge.family": saved.meta.family if saved is not None else "unknown",
        "genforge.model": loaded.config.model_entry.name,
        "genforge.version": genforge.__version__,
        "genforge.noise": str(NOISE_VERSION),
        "opset": str(opset),
        "part": STEP_PART if process is not None else opts.part_name,
        "precision": "float16" if opts.fp16 else "float32",
        "conditional": json.dumps(conditional),
        "latent_dim": str(int(model.latent_dim)),
        "latent_distribution": "normal",
        "num_classes": str(int(info.num_classes) if conditional else 0),
        "class_names": json.dumps(list(info.class_names) if conditional else []),
        "output_range": json.dumps([0, 255] if uint8 else
                                   list(output_range) if output_range is not None else None),
        "output_layout": layout,
        "output_dtype": "uint8" if uint8 else "float32",
        "sample_shape": json.dumps(list(sample_shape)),
        "source_sha256": saved.weights_sha256() if saved is not None else "",
        "max_abs_error": f"{verification.max_abs_error:.6g}",
        "tolerance": f"{verification.tolerance:.6g}",
    }
    if process is not None:
        manifest[SAMPLING_KEY] = sampling_entry(loaded, process)
    return manifest
