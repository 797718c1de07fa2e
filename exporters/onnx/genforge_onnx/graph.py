"""Building the ONNX graph: torch export with a dynamic batch axis, fp16, the uint8 tail."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from genforge import GenforgeError


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence the exporter's warnings and log lines (e.g. 'torchvision is not installed')."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def torch_to_onnx(
    module: torch.nn.Module,
    example_inputs: Sequence[torch.Tensor],
    input_names: Sequence[str],
    output_names: Sequence[str],
    opset: int,
    batchless: Sequence[str] = (),
) -> onnx.ModelProto:
    """Export ``module`` with torch.export (dynamo), dim 0 of every input dynamic (but the
    ``batchless`` ones), weights inline."""
    batch = torch.export.Dim("batch", min=1)
    dynamic = tuple(None if name in batchless else {0: batch} for name in input_names)
    try:
        with quiet_exporter(), torch.inference_mode(False), torch.no_grad():
            program = torch.onnx.export(
                module.eval(), tuple(example_inputs), dynamo=True, verbose=False,
                input_names=list(input_names), output_names=list(output_names),
                opset_version=opset, dynamic_shapes=dynamic, external_data=False)
    except Exception as e:  # torch raises many types; the CLI needs one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise GenforgeError(f"torch.onnx.export failed: {type(e).__name__}: {first}") from e
    if program is None:
        raise GenforgeError("torch.onnx.export returned no program (is onnxscript installed?)")
    model = without_stack_traces(program.model_proto)
    got = [i.name for i in model.graph.input]
    if got != list(input_names) or [o.name for o in model.graph.output] != list(output_names):
        raise GenforgeError(f"exported graph has inputs {got} and outputs "
                            f"{[o.name for o in model.graph.output]}, expected {list(input_names)} "
                            f"and {list(output_names)}")
    return model


#: Node metadata in which torch.onnx.export records the Python stack of each node: file paths
#: of the exporting machine and source lines.
STACK_TRACE = "pkg.torch.onnx.stack_trace"


def without_stack_traces(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop every node's ``STACK_TRACE``, so that a file neither reveals where genforge is
    installed nor changes its bytes with that path or with edits to the source's lines."""
    graphs = [model.graph, *model.functions]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            kept = [p for p in node.metadata_props if p.key != STACK_TRACE]
            del node.metadata_props[:]
            node.metadata_props.extend(kept)
            graphs += [a.g for a in node.attribute if a.HasField("g")]
            graphs += [g for a in node.attribute for g in a.graphs]
    return model


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Store weights and compute in float16, keeping float32 inputs and outputs."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    with quiet_exporter():
        model = convert_float_to_float16(model, keep_io_types=True)
    return topological_sort(model)


def topological_sort(model: onnx.ModelProto) -> onnx.ModelProto:
    """Order the main graph's nodes so each comes after its inputs' producers (Kahn's algorithm).

    The fp16 converter appends its input casts at the end of the node list, which
    ``onnx.checker`` rejects; onnxruntime itself does not care about node order.
    """
    graph = model.graph
    nodes = list(graph.node)
    producer = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    deps = [{producer[x] for x in node.input if x in producer} for node in nodes]
    users: dict[int, list[int]] = {i: [] for i in range(len(nodes))}
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    waiting = [len(d) for d in deps]
    ready = [i for i, w in enumerate(waiting) if w == 0]
    order: list[int] = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    if len(order) != len(nodes):
        raise GenforgeError("the converted graph has a cycle")
    del graph.node[:]
    graph.node.extend(nodes[i] for i in order)
    return model


def append_uint8_tail(model: onnx.ModelProto, output: str = "samples") -> onnx.ModelProto:
    """Make ``output`` uint8 ``[N, H, W, C]`` = round(clip(x, 0, 1) * 255) of the float NCHW one."""
    graph = model.graph
    out = next((o for o in graph.output if o.name == output), None)
    if out is None:
        raise GenforgeError(f"--output uint8: the graph has no output {output!r}")
    dims = list(out.type.tensor_type.shape.dim)
    if len(dims) != 4:
        raise GenforgeError(f"--output uint8 needs image samples [N, C, H, W]; {output!r} has "
                            f"{len(dims)} dimensions")
    inner = f"{output}_float"
    for node in graph.node:
        node.output[:] = [inner if n == output else n for n in node.output]
        node.input[:] = [inner if n == output else n for n in node.input]
    consts = {f"{output}_u8_scale": 255.0, f"{output}_u8_lo": 0.0, f"{output}_u8_hi": 255.0}
    for name, value in consts.items():
        graph.initializer.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
    scale, lo, hi = consts
    graph.node.extend([
        helper.make_node("Transpose", [inner], [f"{output}_u8_nhwc"], perm=[0, 2, 3, 1],
                         name="u8_nhwc"),
        helper.make_node("Mul", [f"{output}_u8_nhwc", scale], [f"{output}_u8_scaled"], name="u8_scale"),
        helper.make_node("Clip", [f"{output}_u8_scaled", lo, hi], [f"{output}_u8_clipped"],
                         name="u8_clip"),
        helper.make_node("Round", [f"{output}_u8_clipped"], [f"{output}_u8_round"], name="u8_round"),
        helper.make_node("Cast", [f"{output}_u8_round"], [output], to=TensorProto.UINT8, name="u8_cast"),
    ])
    new = helper.make_tensor_value_info(output, TensorProto.UINT8, None)
    for d in (dims[0], dims[2], dims[3], dims[1]):
        new.type.tensor_type.shape.dim.append(d)
    index = list(graph.output).index(out)
    graph.output.remove(out)
    graph.output.insert(index, new)
    return model
