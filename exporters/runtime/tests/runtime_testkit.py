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
        "genforge.noise": "2",
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


def make_step_model(path: Path, sampler: str = "ddpm", steps: int = 20) -> Path:
    """A conditional diffusion step file: prediction = tanh(x + E'[labels]) as [N, 1, 2, 2], the
    update x_next = a x + b prediction + c aux, carry = d x + e prediction (coef = a..e); the
    null label is ``CLASSES``."""
    e = RNG.standard_normal((CLASSES + 1, 4)).astype(np.float32)
    image = ["batch", 1, 2, 2]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, image),
              helper.make_tensor_value_info("t", TensorProto.FLOAT, ["batch"]),
              helper.make_tensor_value_info("labels", TensorProto.INT64, ["batch"]),
              helper.make_tensor_value_info("aux", TensorProto.FLOAT, image),
              helper.make_tensor_value_info("coef", TensorProto.FLOAT, [5])]
    inits = [numpy_helper.from_array(e, "E"), numpy_helper.from_array(np.array([-1, 1, 2, 2]), "shape"),
             *(numpy_helper.from_array(np.array(i, dtype=np.int64), f"i{i}") for i in range(5))]
    nodes = [helper.make_node("Gather", ["E", "labels"], ["el"]),
             helper.make_node("Reshape", ["el", "shape"], ["e4"]),
             helper.make_node("Add", ["x", "e4"], ["xe"]),
             helper.make_node("Tanh", ["xe"], ["prediction"]),
             *(helper.make_node("Gather", ["coef", f"i{i}"], [c]) for i, c in enumerate("abcde")),
             *(helper.make_node(op, ins, [out]) for op, ins, out in [
                 ("Mul", ["a", "x"], "ax"), ("Mul", ["b", "prediction"], "bp"), ("Mul", ["c", "aux"], "ca"),
                 ("Add", ["ax", "bp"], "axbp"), ("Add", ["axbp", "ca"], "x_next"),
                 ("Mul", ["d", "x"], "dx"), ("Mul", ["e", "prediction"], "ep"),
                 ("Add", ["dx", "ep"], "carry")])]
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, image)
               for name in ("prediction", "x_next", "carry")]
    model = helper.make_model(helper.make_graph(nodes, "toystep", inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    sampling = {"process": {"kind": "diffusion", "train_steps": 100, "scale": 0.001, "shift": 0.5},
                "defaults": {"sampler": sampler, "steps": steps}, "null_label": CLASSES}
    helper.set_model_props(model, manifest(True, part="step", sampling=json.dumps(sampling)))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
