"""The genforge file contract: each part's graph inputs and outputs, and the manifest checked against them.

A manifest describes the graph beside it: a ``labels`` input exists iff ``num_classes``
> 0, ``z`` holds ``latent_dim`` values, the samples' static dims are ``sample_shape`` in
``output_layout`` with element type ``output_dtype``, and ``output_range`` suits that type.
Only the batch axis is dynamic. A file whose manifest disagrees with its graph was edited
or assembled by hand: ``check_file`` refuses it with one line naming the manifest field and
what the graph has, before anything is sampled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from genforge_runtime import samplers
from genforge_runtime.errors import ManifestMismatch, NotAGenforgeModel, cut, short

#: Each part's inputs (``labels`` only in conditional files) and outputs.
INPUTS = {"generator": ["z", "labels"], "decoder": ["z", "labels"], "encoder": ["x", "labels"],
          "step": ["x", "t", "labels", *samplers.UPDATE_INPUTS]}
OUTPUTS = {"generator": ["samples"], "decoder": ["samples"], "encoder": ["mean", "logvar"],
           "step": ["prediction", *samplers.UPDATE_OUTPUTS]}
#: onnxruntime's name of each element type a genforge graph uses.
ELEMENT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8",
                 "tensor(int64)": "int64"}
#: ``output_range`` of uint8 images and of float images (genforge's image data is in [0, 1]).
UINT8_RANGE, IMAGE_RANGE = [0, 255], [0, 1]


class Port(NamedTuple):
    """What the contract wants of one graph input or output."""

    dtype: str
    #: the dims after the batch axis (all of them when not ``batched``)
    dims: tuple[int, ...]
    #: the manifest field that sets ``dims`` (``None``: fixed by the contract)
    field: str | None = None
    #: the manifest field that sets ``dtype``
    dtype_field: str | None = None
    batched: bool = True


def layout_of(shape: Sequence[int], uint8: bool) -> str:
    """``NCHW`` (``NHWC`` for uint8) for images, ``NC`` for vectors, ``N`` + one ``D`` per axis else."""
    if len(shape) == 3:
        return "NHWC" if uint8 else "NCHW"
    return "NC" if len(shape) == 1 else "N" + "D" * len(shape)


def _mismatch(path: str | Path, field: str, value: object, graph: str) -> ManifestMismatch:
    shown = cut(repr(value) if isinstance(value, str) else json.dumps(value))  # as the file holds it
    return ManifestMismatch(f"{path}: manifest {field} {shown} disagrees with the graph: {graph}")


def describe(kind: str, arg: Any) -> str:
    """``output samples is float32 [batch, 1, 8, 8]`` for an onnxruntime ``NodeArg``."""
    dims = ", ".join(str(d) for d in (arg.shape or []))
    return f"{kind} {arg.name} is {ELEMENT_TYPES.get(arg.type, arg.type)} [{dims}]"


def ports(info: dict[str, Any], conditional: bool) -> tuple[dict[str, Port], dict[str, Port]]:
    """The inputs and outputs the manifest describes, by name."""
    part, shape, latent = info["part"], tuple(info["sample_shape"]), (info["latent_dim"],)
    labels = {"labels": Port("int64", ())} if conditional else {}
    if part == "encoder":
        return ({"x": Port("float32", shape, "sample_shape"), **labels},
                {name: Port("float32", latent, "latent_dim") for name in OUTPUTS[part]})
    if part == "step":
        x = Port("float32", shape, "sample_shape")
        return ({"x": x, "t": Port("float32", ()), **labels, "aux": x,
                 "coef": Port("float32", (5,), batched=False)}, {name: x for name in OUTPUTS[part]})
    return ({"z": Port("float32", latent, "latent_dim"), **labels},
            {"samples": Port(info["output_dtype"], shape, "sample_shape", "output_dtype")})


def check_port(kind: str, arg: Any, want: Port, info: dict[str, Any], path: str | Path) -> None:
    """One graph input or output against ``want``: element type, rank, static dims, dynamic batch."""
    seen = describe(kind, arg)
    shape = list(arg.shape or [])
    if ELEMENT_TYPES.get(arg.type) != want.dtype:
        if want.dtype_field is not None:
            raise _mismatch(path, want.dtype_field, info[want.dtype_field], seen)
        raise NotAGenforgeModel(f"{path}: graph {seen}; the genforge contract has {want.dtype}")
    dims = shape[1:] if want.batched else shape
    if len(shape) != len(want.dims) + want.batched or any(
            isinstance(d, int) and d != w for d, w in zip(dims, want.dims, strict=False)):
        if want.field is not None:
            raise _mismatch(path, want.field, info[want.field], seen)
        expected = ", ".join(["N"] * want.batched + [str(d) for d in want.dims])
        raise NotAGenforgeModel(f"{path}: graph {seen}; the genforge contract has [{expected}]")
    if not all(isinstance(d, int) for d in dims):
        raise NotAGenforgeModel(f"{path}: graph {seen}: only the batch axis of a genforge graph is dynamic")
    if want.batched and isinstance(shape[0], int):
        raise NotAGenforgeModel(f"{path}: graph {seen}: its batch axis is fixed at {shape[0]}; a genforge "
                                "graph takes any batch size")


def check_file(info: dict[str, Any], inputs: Sequence[Any], outputs: Sequence[Any], path: str | Path) -> None:
    """Refuse a graph (onnxruntime's ``NodeArg`` lists) that breaks the contract or its manifest: one line."""
    part = info["part"]
    names_in, names_out = [i.name for i in inputs], [o.name for o in outputs]
    conditional = "labels" in names_in

    def follows(p: str) -> bool:
        return (names_in == [n for n in INPUTS[p] if n != "labels" or conditional]
                and names_out == OUTPUTS[p])

    if not follows(part):
        other = next((p for p in INPUTS if follows(p)), None)
        if other is not None:
            raise _mismatch(path, "part", part,
                            f"its inputs {names_in} and outputs {names_out} are a {other}'s")
        want = [n for n in INPUTS[part] if n != "labels" or conditional]
        raise NotAGenforgeModel(f"{path}: inputs {names_in} and outputs {names_out} do not follow the "
                                f"genforge contract for a {part} ({' + '.join(want)} -> "
                                f"{' + '.join(OUTPUTS[part])})")
    has = "it has a labels input" if conditional else "it has no labels input"
    if (info["num_classes"] > 0) != conditional:
        raise _mismatch(path, "num_classes", info["num_classes"], f"{has} (expected "
                        f"{'a number of classes > 0' if conditional else '0'})")
    if info["conditional"] is not conditional:
        raise _mismatch(path, "conditional", info["conditional"],
                        f"{has} (expected {str(conditional).lower()})")
    names = info.get("class_names", [])
    if names and len(names) != info["num_classes"]:  # after the graph's word on num_classes
        raise NotAGenforgeModel(f"{path}: genforge manifest value out of range: class_names "
                                f"({len(names)} names for num_classes {info['num_classes']})")
    want_in, want_out = ports(info, conditional)
    for kind, args, wanted in (("input", inputs, want_in), ("output", outputs, want_out)):
        for arg in args:
            check_port(kind, arg, wanted[arg.name], info, path)
    check_samples(info, outputs[0], path)


def check_samples(info: dict[str, Any], first: Any, path: str | Path) -> None:
    """``output_dtype``, ``output_layout``, ``output_range`` (and a step's ``latent_dim``) against the
    part and its first output ``first``, whose dims were checked."""
    part, shape, dtype = info["part"], info["sample_shape"], info["output_dtype"]
    seen = describe("output", first)
    if part in ("encoder", "step") and dtype != "float32":
        raise _mismatch(path, "output_dtype", dtype, f"{seen} (a {part}'s outputs are float32)")
    if part == "step" and info["latent_dim"] != math.prod(shape):
        raise _mismatch(path, "latent_dim", info["latent_dim"], f"{seen} (the loop starts from "
                        f"{math.prod(shape)} noise values per sample)")
    uint8 = dtype == "uint8"
    if uint8 and len(shape) != 3:
        raise NotAGenforgeModel(f"{path}: graph {seen}: uint8 samples are images [N, H, W, C]")
    layout = "NC" if part == "encoder" else layout_of(shape, uint8)
    if info["output_layout"] != layout:
        raise _mismatch(path, "output_layout", info["output_layout"], f"{seen} (expected {layout!r})")
    span = info["output_range"]
    if part != "encoder" and len(shape) == 3:
        bounds = UINT8_RANGE if uint8 else IMAGE_RANGE
        if span != bounds:
            raise _mismatch(path, "output_range", span, f"{seen}, images (expected {json.dumps(bounds)})")
    elif span is not None and not (part == "step" and is_bounds(span)):
        # the loop of a step file clips to its data's range, which the graph cannot show
        what, want = (("not images", "null or a finite [low, high]") if part == "step"
                      else ("encoder outputs" if part == "encoder" else "not images", "null"))
        raise _mismatch(path, "output_range", span, f"{seen}, {what} (expected {want})")


def is_bounds(span: object) -> bool:
    """Whether ``span`` is ``[low, high]``: two finite numbers, low below high."""
    if not isinstance(span, list) or len(span) != 2:
        return False
    low, high = span
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in (low, high)) and low < high


Sampling = tuple[samplers.Process, samplers.Settings, int | None]


def sampling_of(info: dict[str, Any], path: str | Path) -> Sampling | None:
    """A step file's process, default settings and null label (``None`` for one-shot parts)."""
    part, classes = info["part"], info["num_classes"]
    if part != "step":
        if "sampling" in info:
            raise _mismatch(path, "sampling", info["sampling"], f"it is a {part}'s, which takes no "
                            "sampler (only step graphs have a sampling entry)")
        return None
    spec = info.get("sampling")
    try:
        if not isinstance(spec, dict):
            raise ValueError(f"expected the process and default settings, got {short(spec)}")
        process = samplers.Process.from_dict(dict(spec["process"]))
        defaults = samplers.Settings(**spec["defaults"]).check(process)
        null = spec.get("null_label")
        if null is not None and (type(null) is not int or not 0 <= null <= classes or classes == 0):
            want = f"a label from 0 to num_classes {classes}" if classes else "null (unconditional)"
            raise ValueError(f"null_label {short(null)}: expected {want}")
        if defaults.guidance not in (0.0, 1.0) and null is None:
            raise ValueError(f"defaults guidance {defaults.guidance}: needs a null_label (expected 0)")
    except KeyError as e:
        raise NotAGenforgeModel(f"{path}: unreadable sampling manifest: missing {e}") from None
    except (TypeError, ValueError) as e:
        raise NotAGenforgeModel(f"{path}: unreadable sampling manifest: {e}") from None
    return process, defaults, null
