"""The Triton exporter: config.pbtxt parsed and checked against the exported model itself."""

from __future__ import annotations

import re

import numpy as np
import onnxruntime as ort
import pytest
from onnx_testkit import family_params

from genforge_onnx.triton import exporter

ORT_TO_TRITON = {"tensor(float)": "TYPE_FP32", "tensor(int64)": "TYPE_INT64", "tensor(uint8)": "TYPE_UINT8"}
TOKEN = re.compile(r'\s*(?:#[^\n]*|("(?:[^"\\]|\\.)*")|([{}\[\]:,])|([^\s{}\[\]:,"#]+))')


def parse_pbtxt(text: str) -> dict:
    """A small protobuf text-format parser (enough for Triton model configs): repeated keys -> lists."""
    tokens = [m.group(1) or m.group(2) or m.group(3) for m in TOKEN.finditer(text)
              if m.group(1) or m.group(2) or m.group(3)]
    pos = 0

    def value():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "{":
            return message("}")
        if tok == "[":
            items = []
            while tokens[pos] != "]":
                items.append(value())
                if tokens[pos] == ",":
                    pos += 1
            pos += 1
            return items
        if tok.startswith('"'):
            return tok[1:-1]
        return int(tok) if re.fullmatch(r"-?\d+", tok) else tok

    def message(end):
        nonlocal pos
        out: dict = {}
        while pos < len(tokens) and tokens[pos] != end:
            key = tokens[pos]
            pos += 1
            if tokens[pos] == ":":
                pos += 1
            out.setdefault(key, []).append(value())
            if pos < len(tokens) and tokens[pos] == ",":
                pos += 1
        pos += 1
        return out

    return message(None)


def one(config: dict, key: str):
    (v,) = config[key]
    return v


@pytest.mark.parametrize("name", family_params(("gan", "cgan", "cvae")))
@pytest.mark.parametrize("output", ["float", "uint8"])
def test_config_matches_the_exported_model(name, output, loaded, tmp_path):
    entry = exporter.export(loaded(name), tmp_path / "repo", {"output": output, "verbose": False})
    assert entry == tmp_path / "repo" / name
    files = sorted(str(p.relative_to(entry)) for p in entry.rglob("*"))
    assert files == ["1", "1/model.onnx", "config.pbtxt"]
    config = parse_pbtxt((entry / "config.pbtxt").read_text())
    assert one(config, "name") == name and one(config, "backend") == "onnxruntime"
    assert one(config, "max_batch_size") == 256 and "dynamic_batching" in config
    session = ort.InferenceSession(str(entry / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
    for entries, real in ((one(config, "input"), session.get_inputs()),
                          (one(config, "output"), session.get_outputs())):
        assert [one(e, "name") for e in entries] == [r.name for r in real]
        for e, r in zip(entries, real, strict=True):
            assert one(e, "data_type") == ORT_TO_TRITON[r.type]
            assert isinstance(r.shape[0], str)  # the batch axis Triton adds is dynamic in the model
            dims = one(e, "dims")
            shape = one(one(e, "reshape"), "shape") if "reshape" in e else dims
            assert shape == list(r.shape[1:]) and np.prod(dims) == np.prod(r.shape[1:] or [1])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["genforge.model"] == name
    assert meta["output_dtype"] == ("uint8" if output == "uint8" else "float32")


def test_name_and_batch_size_options_and_reexport(loaded, tmp_path):
    repo = tmp_path / "repo"
    exporter.export(loaded("gan"), repo, {"name": "digits_gan", "max_batch_size": 64, "verbose": False})
    (repo / "digits_gan" / "2").mkdir()  # another version stays where it is
    entry = exporter.export(loaded("gan"), repo, {"name": "digits_gan", "max_batch_size": 32,
                                                  "verbose": False})
    config = parse_pbtxt((entry / "config.pbtxt").read_text())
    assert one(config, "name") == "digits_gan" and one(config, "max_batch_size") == 32
    assert (entry / "2").is_dir() and (entry / "1" / "model.onnx").is_file()
    assert sorted(p.name for p in repo.iterdir()) == ["digits_gan"]


def test_parser_reads_nested_messages():
    cfg = parse_pbtxt('# c\nname: "a"\ninput [ { name: "z" dims: [ 1, 2 ] reshape: { shape: [ ] } } ]\n'
                      "dynamic_batching { max_queue_delay_microseconds: 100 }\n")
    assert one(cfg, "name") == "a" and one(one(one(cfg, "input")[0], "reshape"), "shape") == []
    assert one(one(cfg, "input")[0], "dims") == [1, 2]
    assert one(one(cfg, "dynamic_batching"), "max_queue_delay_microseconds") == 100
