"""Hand-built genforge-style ONNX files (onnx.helper only: these tests need no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LATENT, CLASSES = 4, 3
RNG = np.random.default_rng(7)
W = RNG.standard_normal((LATENT, 4)).astype(np.float32)
E = RNG.standard_normal((CLASSES, 4)).astype(np.float32)


def manifest(conditional: bool, **changes: str) -> dict[str, str]:
    """A complete manifest for the toy model (strings, as in metadata_props)."""
    meta = {
        "genforge.family": "genforge-toy", "genforge.model": "toy", "genforge.version": "0.1.0",
        "opset": "18", "part": "generator", "precision": "float32",
        "conditional": json.dumps(conditional), "latent_dim": str(LATENT),
        "latent_distribution": "normal", "num_classes": str(CLASSES if conditional else 0),
        "class_names": json.dumps(["a", "b", "c"] if conditional else []),
        "output_range": "[0.0, 1.0]", "output_layout": "NCHW", "output_dtype": "float32",
        "sample_shape": "[1, 2, 2]", "source_sha256": "0" * 64, "max_abs_error": "0",
        "tolerance": "0.0001",
    }
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def make_model(path: Path, conditional: bool = True, meta: dict[str, str] | None = None) -> Path:
    """samples = sigmoid(z @ W [+ E[labels]]) as [N, 1, 2, 2]; ``meta`` None writes the manifest."""
    nodes = [helper.make_node("MatMul", ["z", "W"], ["h"])]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", LATENT])]
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.array([-1, 1, 2, 2]), "shape")]
    last = "h"
    if conditional:
        inputs.append(helper.make_tensor_value_info("labels", TensorProto.INT64, ["batch"]))
        inits.append(numpy_helper.from_array(E, "E"))
        nodes += [helper.make_node("Gather", ["E", "labels"], ["e"]),
                  helper.make_node("Add", ["h", "e"], ["he"])]
        last = "he"
    nodes += [helper.make_node("Sigmoid", [last], ["s"]),
              helper.make_node("Reshape", ["s", "shape"], ["samples"])]
    out = helper.make_tensor_value_info("samples", TensorProto.FLOAT, ["batch", 1, 2, 2])
    graph = helper.make_graph(nodes, "toy", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, manifest(conditional) if meta is None else meta)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def reference(z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """What the toy graph computes, in numpy."""
    h = z @ W + (E[labels] if labels is not None else 0.0)
    return (1.0 / (1.0 + np.exp(-h))).reshape(-1, 1, 2, 2).astype(np.float32)
