"""Matching stored weights to a model: one line naming what differs, before anything is copied.

A mismatch names the first few missing, unexpected and mis-shaped keys, integer or
boolean tensors where the model holds floats, and non-finite values (a diverged run).
``header_specs`` reads a safetensors file's header only, so a model built on the
``meta`` device can be checked against a checkpoint before real memory is spent on it.

A state dict may hold one tensor under several keys (tied weights, or a network
registered twice as a child). A file stores such a tensor once: ``aliases`` names the
repeated keys, written to the file's metadata under ``ALIASES``, and ``with_aliases``
restores them on reading, so readers always see every key of the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch
from safetensors import SafetensorError, safe_open

from genforge.errors import CheckpointError
from genforge.files import regular_file

T = TypeVar("T")
#: (shape, dtype name) of one tensor
Spec = tuple[tuple[int, ...], str]
#: keys shown per kind of mismatch
SHOWN = 3


#: safetensors metadata key: JSON ``{key: stored key}`` for the keys a file holds once under another key
ALIASES = "genforge.aliases"


def _memory(tensor: torch.Tensor) -> tuple[str, int] | None:
    """Where a tensor's memory lives (device and storage address); None for meta or empty tensors."""
    if tensor.device.type == "meta" or tensor.numel() == 0:
        return None
    return str(tensor.device), tensor.untyped_storage().data_ptr()


def shared_memory(tensors: Mapping[str, torch.Tensor]) -> list[list[str]]:
    """Groups of two or more keys whose tensors share memory, in state-dict order."""
    groups: dict[tuple[str, int], list[str]] = {}
    for key, tensor in tensors.items():
        where = _memory(tensor)
        if where is not None:
            groups.setdefault(where, []).append(key)
    return [keys for keys in groups.values() if len(keys) > 1]


def aliases(tensors: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """``{key: first key}`` for each key whose tensor is exactly an earlier key's (same memory and view)."""
    first: dict[tuple[object, ...], str] = {}
    out: dict[str, str] = {}
    for key, tensor in tensors.items():
        where = _memory(tensor)
        if where is None:
            continue
        view = (*where, tensor.storage_offset(), tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)
        if view in first:
            out[key] = first[view]
        else:
            first[view] = key
    return out


def with_aliases(stored: dict[str, T], metadata: Mapping[str, str] | None, path: Path) -> dict[str, T]:
    """What ``path`` stores by key, plus the keys its metadata (``ALIASES``) stores as other keys."""
    text = (metadata or {}).get(ALIASES)
    if text is None:
        return stored
    try:
        links = json.loads(text)
    except ValueError:
        links = None
    if not (isinstance(links, dict) and all(isinstance(k, str) and k not in stored and v in stored
                                            for k, v in links.items())):
        raise CheckpointError(f"{path}: metadata {ALIASES} is not a JSON object of aliases of stored keys")
    return {**stored, **{k: stored[v] for k, v in links.items()}}


def specs_of(tensors: Mapping[str, torch.Tensor]) -> dict[str, Spec]:
    """Shape and dtype of each tensor of a state dict (also of ``meta`` tensors)."""
    return {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in tensors.items()}


_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
                       "BOOL": "bool"}


def header_specs(path: Path) -> dict[str, Spec]:
    """Shape and dtype of each tensor in a safetensors file, read from its header alone."""
    regular_file(path, "safetensors file", CheckpointError)
    try:
        with safe_open(str(path), framework="pt") as f:
            slices = {k: f.get_slice(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
            specs = {k: (tuple(s.get_shape()), _SAFETENSORS_DTYPES.get(s.get_dtype(), s.get_dtype()))
                     for k, s in slices.items()}
            metadata = f.metadata()
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"{path}: unreadable safetensors file: {e}") from None
    return with_aliases(specs, metadata, path)


def _keys(kind: str, keys: list[str]) -> str:
    more = f" (+{len(keys) - SHOWN} more)" if len(keys) > SHOWN else ""
    return f"{kind} {', '.join(keys[:SHOWN])}{more}"


def mismatch(expected: Mapping[str, Spec], given: Mapping[str, Spec], strict: bool = True) -> str:
    """What differs between the model's and the stored tensors, as one line ("" when they match).

    ``strict=False`` (EMA files hold a subset) does not count keys the stored side lacks.
    """
    missing = [k for k in expected if k not in given] if strict else []
    unexpected = [k for k in given if k not in expected]
    shared = [k for k in given if k in expected]
    shapes = [f"{k} {list(given[k][0])} vs {list(expected[k][0])}" for k in shared
              if given[k][0] != expected[k][0]]
    kinds = [f"{k} {given[k][1]} vs {expected[k][1]}" for k in shared
             if _is_float(expected[k][1]) != _is_float(given[k][1]) or
             (expected[k][1] == "bool") != (given[k][1] == "bool")]
    parts = [_keys(kind, keys) for kind, keys in (("missing", missing), ("unexpected", unexpected),
             ("shape (stored vs model)", shapes), ("dtype (stored vs model)", kinds)) if keys]
    return "; ".join(parts)


def _is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat"))


def check_specs(expected: Mapping[str, Spec], path: Path, strict: bool = True) -> None:
    """Raise ``CheckpointError`` naming the differences between a model's specs and a file's header."""
    problems = mismatch(expected, header_specs(path), strict)
    if problems:
        raise CheckpointError(f"{path}: weights do not match the model: {problems}")


def load_weights(model: torch.nn.Module, tensors: Mapping[str, torch.Tensor], where: Path,
                 strict: bool = True) -> None:
    """Copy ``tensors`` into ``model`` after checking keys, shapes, dtypes and finiteness."""
    problems = mismatch(specs_of(model.state_dict()), specs_of(tensors), strict)
    if problems:
        raise CheckpointError(f"{where}: weights do not match the model: {problems}")
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"{where}: holds non-finite weights ({_keys('in', bad)}): the run "
                              "diverged before this checkpoint was written")
    model.load_state_dict(dict(tensors), strict=strict)


def check_before_build(build: Callable[[], torch.nn.Module], path: Path) -> None:
    """Build the model on the ``meta`` device (no memory) and check it against the file's header.

    A config edited to a huge size thus fails in one line before the real model is built.
    A family whose constructor needs real data (not possible on ``meta``) is checked after
    building instead, by ``load_weights``.
    """
    try:
        with torch.device("meta"):
            expected = specs_of(build().state_dict())
    except (RuntimeError, NotImplementedError):
        return
    check_specs(expected, path)
