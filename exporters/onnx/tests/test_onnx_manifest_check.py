"""A manifest that disagrees with its graph: ``genforge-run`` refuses the file in one line, exit 2.

Real tiny exports (a conditional GAN, its ``--output uint8`` export, an unconditional GAN,
a conditional flow-matching step graph on 2-D points) with manifest fields edited by hand
and by a hypothesis property; the files as exported, and with keys added that the runtime
does not know, still load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx_testkit import REGISTERED

import genforge_runtime
from genforge_runtime.cli import main as run_main
from genforge_runtime.contract import is_bounds
from genforge_runtime.manifest import REQUIRED

#: The exports edited here: (model, export options).
FILES = {"cgan": ("cgan", {}), "cgan-uint8": ("cgan", {"output": "uint8"}), "gan": ("gan", {}),
         "cfm": ("cfm", {})}
NEEDS_CFM = pytest.mark.skipif("cfm" not in REGISTERED, reason="no 'cfm' model (genforge-diffusion)")


@pytest.fixture(scope="module")
def originals(exported: Any) -> dict[str, bytes]:
    """The bytes of each export in ``FILES`` whose model is installed."""
    return {key: Path(exported(name, **opts)).read_bytes() for key, (name, opts) in FILES.items()
            if name in REGISTERED}


def edited(original: bytes, edits: dict[str, Any], path: Path) -> Path:
    """``original`` with manifest entries replaced, added, removed (``None``) or changed (a function
    of the entry's text), saved to ``path``."""
    model = onnx.ModelProto.FromString(original)
    meta: dict[str, str | None] = {p.key: p.value for p in model.metadata_props}
    meta.update({k: v(meta[k]) if callable(v) else v for k, v in edits.items()})
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {k: v for k, v in meta.items() if v is not None})
    path.write_bytes(model.SerializeToString())
    return path


def refused(path: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``genforge-run`` on ``path``: exit 2, one line, nothing written; return the line."""
    code = run_main([str(path), "-n", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("genforge-run: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and not out.exists()
    return err.strip()


CASES = {
    "num_classes 0 on a conditional graph": (
        "cgan", {"num_classes": "0"},
        "manifest num_classes 0 disagrees with the graph: it has a labels input"),
    "num_classes 10 on an unconditional graph": (
        "gan", {"num_classes": "10", "class_names": json.dumps(list("0123456789"))},
        "manifest num_classes 10 disagrees with the graph: it has no labels input (expected 0)"),
    "sample_shape [3, 64, 64]": (
        "cgan", {"sample_shape": "[3, 64, 64]"},
        "manifest sample_shape [3, 64, 64] disagrees with the graph: output samples is float32 "
        "[batch, 1, 8, 8]"),
    "sample_shape [10**6, 10**6]": (
        "cgan", {"sample_shape": json.dumps([10**6, 10**6])},
        "manifest sample_shape [1000000, 1000000] disagrees with the graph"),
    "NHWC on an NCHW graph": (
        "cgan", {"output_layout": "NHWC"},
        "manifest output_layout 'NHWC' disagrees with the graph: output samples is float32 [batch, 1, 8, 8] "
        "(expected 'NCHW')"),
    "NCHW on a uint8 graph": (
        "cgan-uint8", {"output_layout": "NCHW"},
        "manifest output_layout 'NCHW' disagrees with the graph: output samples is uint8 [batch, 8, 8, 1] "
        "(expected 'NHWC')"),
    "float32 on a uint8 graph": (
        "cgan-uint8", {"output_dtype": "float32"}, "manifest output_dtype 'float32' disagrees"),
    "uint8 on a float graph": ("cgan", {"output_dtype": "uint8"}, "manifest output_dtype 'uint8' disagrees"),
    "uint8 graph, range [0, 1]": (
        "cgan-uint8", {"output_range": "[0, 1]"}, "manifest output_range [0, 1] disagrees"),
    "float images, range [0, 255]": (
        "cgan", {"output_range": "[0, 255]"}, "manifest output_range [0, 255] disagrees"),
    "range [1, 0]": ("cgan", {"output_range": "[1, 0]"}, "value out of range: output_range [1, 0]"),
    "latent_dim 9 for z [N, 8]": (
        "cgan", {"latent_dim": "9"},
        "manifest latent_dim 9 disagrees with the graph: input z is float32 [batch, 8]"),
    "conditional false": ("cgan", {"conditional": "false"}, "manifest conditional false disagrees"),
    "one name for ten classes": (
        "cgan", {"class_names": '["a"]'}, "class_names (1 names for num_classes 10)"),
    "an encoder's part": (
        "cgan", {"part": "encoder"}, "manifest part 'encoder' disagrees with the graph: its inputs "
        "['z', 'labels'] and outputs ['samples'] are a generator's"),
    "a sampling entry in a one-shot file": (
        "gan", {"sampling": "{}"}, "manifest sampling {} disagrees with the graph: it is a generator's"),
    "no output_layout": (
        "cgan", {"output_layout": None}, "incomplete genforge manifest (missing output_layout)"),
    "step graph called a generator": (
        "cfm", {"part": "generator"}, "manifest part 'generator' disagrees with the graph: its inputs "
        "['x', 't', 'labels', 'aux', 'coef'] and outputs ['prediction', 'x_next', 'carry'] are a step's"),
    "step graph: latent_dim 3 for [N, 2]": (
        "cfm", {"latent_dim": "3"}, "manifest latent_dim 3 disagrees with the graph: output prediction is "
        "float32 [batch, 2] (the loop starts from 2 noise values per sample)"),
    # a step file of vectors may record its data's range ([low, high]); nothing else
    "step graph: a range of three values": (
        "cfm", {"output_range": "[0, 1, 2]"}, "genforge manifest value out of range: output_range [0, 1, 2]"),
    "step graph: sample_shape": ("cfm", {"sample_shape": "[1, 2]"}, "input x is float32 [batch, 2]"),
    "step graph: no sampling entry": ("cfm", {"sampling": None}, "unreadable sampling manifest"),
    "step graph: null label beyond the classes": (
        "cfm", {"sampling": lambda spec: json.dumps({**json.loads(spec), "null_label": 99})},
        "null_label 99: expected a label from 0 to num_classes 8"),
}


@pytest.mark.parametrize("case", [pytest.param(c, marks=NEEDS_CFM) if CASES[c][0] == "cfm" else c
                                  for c in CASES])
def test_a_manifest_that_disagrees_is_refused_in_one_line(case, originals, tmp_path, capsys):
    key, edits, message = CASES[case]
    path = edited(originals[key], edits, tmp_path / "m.onnx")
    out = tmp_path / ("s.npy" if key == "cfm" else "grid.png")
    assert message in refused(path, out, capsys)
    with pytest.raises(genforge_runtime.NotAGenforgeModel) as e:  # the Python API: a typed error
        genforge_runtime.load(path, device="cpu")
    assert message in str(e.value) and "\n" not in str(e.value)
    mismatch = "disagrees with the graph" in str(e.value)
    assert isinstance(e.value, genforge_runtime.ManifestMismatch) == mismatch


@pytest.mark.parametrize("key", [pytest.param(k, marks=NEEDS_CFM) if k == "cfm" else k for k in FILES])
def test_exports_and_keys_the_runtime_does_not_know_load(key, originals, tmp_path, capsys):
    extra = {"genforge.comment": "added later", "author": "someone"}
    for name, edits in (("as-exported", {}), ("extra-keys", extra)):
        path = edited(originals[key], edits, tmp_path / f"{name}.onnx")
        assert run_main([str(path), "-n", "3", "--out", str(tmp_path / f"{name}.npy")]) == 0, \
            capsys.readouterr().err


# --- the property: any one to three of these edits is refused ------------------------------------

texts = st.text(max_size=8)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | texts,
                           lambda inner: st.lists(inner, max_size=3) |
                           st.dictionaries(texts, inner, max_size=2), max_leaves=5)
bad_counts = st.sampled_from(["", "x", "1.5", "-1", "true", "null", "1e3", "[8]"])


def other(true: Any, *choices: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values drawn from ``choices`` other than ``true``."""
    return st.one_of(*choices).filter(lambda v: v != true)


def sampling_breakers(spec: dict[str, Any], classes: int) -> st.SearchStrategy[Any]:
    """A step file's sampling entry (a flow process) broken in one field, or not an object."""
    null = st.integers(classes + 1, 2**40) | st.integers(-2**40, -1) | st.sampled_from([1.5, "0", True, [0]])
    kind = other("flow", texts)
    steps = st.integers(100_001, 2**40) | st.integers(-9, 0)
    sampler = texts.filter(lambda s: s not in ("euler", "heun"))
    return (json_values.filter(lambda v: not isinstance(v, dict))
            | null.map(lambda n: {**spec, "null_label": n})
            | kind.map(lambda k: {**spec, "process": {**spec["process"], "kind": k}})
            | steps.map(lambda n: {**spec, "defaults": {**spec["defaults"], "steps": n}})
            | sampler.map(lambda s: {**spec, "defaults": {**spec["defaults"], "sampler": s}}))


def breakers(meta: dict[str, str]) -> dict[str, st.SearchStrategy[str | None]]:
    """For each manifest key, edits (``None``: removed) that make this file's manifest wrong
    whatever the other keys say."""
    conditional, classes = json.loads(meta["conditional"]), int(meta["num_classes"])
    shape, step = json.loads(meta["sample_shape"]), "sampling" in meta
    names = st.lists(texts, min_size=1, max_size=12).filter(lambda n: len(n) != classes)
    shapes = st.lists(st.integers(-1, 10**7), min_size=1, max_size=4)
    ranges = st.lists(st.floats() | st.integers(-300, 300), min_size=2, max_size=2)
    parts = st.sampled_from(["encoder", "Generator", ""] + (["generator", "decoder"] if step else ["step"]))
    edits: dict[str, st.SearchStrategy[str | None]] = {
        "latent_dim": other(int(meta["latent_dim"]), st.integers(0, 2**40)).map(str) | bad_counts,
        "num_classes": (st.just("0") if conditional else st.integers(1, 2**40).map(str)) | bad_counts,
        "conditional": st.sampled_from([json.dumps(not conditional), "1", "0", '"true"', "null", "", "yes"]),
        "class_names": names.map(json.dumps) | st.sampled_from(['"0123"', "[1, 2]", "{}", "null", "x"]),
        "sample_shape": other(shape, json_values, shapes).map(json.dumps) | st.sampled_from(["", "[8, 8"]),
        "output_layout": other(meta["output_layout"], st.sampled_from(["NCHW", "NHWC", "NC", "NDD"]), texts),
        "output_dtype": other(meta["output_dtype"], st.sampled_from(["float32", "float16", "uint8"]), texts),
        # a step file of vectors or signals may carry any finite [low, high]: its data's range
        "output_range": other(json.loads(meta["output_range"]), json_values, ranges).filter(
            lambda r: not (step and len(shape) != 3 and is_bounds(r))).map(json.dumps),
        "part": parts | texts.filter(lambda p: p not in ("generator", "decoder", "encoder", "step")),
        "precision": texts.filter(lambda p: p not in ("float32", "float16")),
        "latent_distribution": other("normal", texts),
        # a step file's entry broken; in a one-shot file any sampling entry is one too many
        "sampling": (sampling_breakers(json.loads(meta["sampling"]), classes).map(json.dumps) if step
                     else json_values.map(json.dumps) | texts),
    }
    return {k: st.none() | v if k in REQUIRED or k == "sampling" and step else v for k, v in edits.items()}


FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def test_any_edit_that_breaks_the_manifest_is_refused_in_one_line(originals, tmp_path, capsys):
    tables = {key: breakers({p.key: p.value for p in onnx.ModelProto.FromString(raw).metadata_props})
              for key, raw in originals.items()}
    seen: set[tuple[str, str]] = set()

    @FUZZ
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(originals)), label="file")
        fields = data.draw(st.lists(st.sampled_from(sorted(tables[key])), min_size=1, max_size=3,
                                    unique=True), label="fields")
        edits = {f: data.draw(tables[key][f], label=f) for f in fields}
        refused(edited(originals[key], edits, tmp_path / "m.onnx"), tmp_path / "s.npy", capsys)
        seen.add((key, json.dumps(edits, sort_keys=True)))

    prop()
    assert len(seen) >= 20  # distinct hostile files, each refused in one line
