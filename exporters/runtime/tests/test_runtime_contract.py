"""The manifest checked against the graph at load: the contract's own cases on toy graphs.

Real exports with edited manifests are refused in ``exporters/onnx/tests/test_onnx_manifest_check.py``;
here: graphs no genforge export has (a fixed batch axis, a dynamic inner axis, wrong
element types), the typed errors, and the layouts the exporter writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import onnx
import pytest
from runtime_testkit import make_model, manifest

import genforge_runtime
from genforge_runtime import ManifestMismatch, NotAGenforgeModel
from genforge_runtime.contract import check_file, layout_of
from genforge_runtime.manifest import parse_manifest


class Arg(NamedTuple):
    """What onnxruntime's ``NodeArg`` tells about an input or output."""

    name: str
    type: str
    shape: list[Any]


FLOAT, INT64 = "tensor(float)", "tensor(int64)"
Z, LABELS, SAMPLES = Arg("z", FLOAT, ["batch", 4]), Arg("labels", INT64, ["batch"]), Arg(
    "samples", FLOAT, ["batch", 1, 2, 2])


def info(**changes: str) -> dict[str, Any]:
    """The toy's parsed manifest with ``changes``."""
    return parse_manifest(manifest(True, **changes), "toy.onnx")


def test_the_toy_manifest_agrees_with_its_graph():
    check_file(info(), [Z, LABELS], [SAMPLES], "toy.onnx")


@pytest.mark.parametrize(("inputs", "outputs", "message"), [
    ([Arg("z", FLOAT, [1, 4]), Arg("labels", INT64, [1])], [SAMPLES],
     "graph input z is float32 [1, 4]: its batch axis is fixed at 1; a genforge graph takes any batch size"),
    ([Z, LABELS], [Arg("samples", FLOAT, ["batch", 1, "h", 2])],
     "graph output samples is float32 [batch, 1, h, 2]: only the batch axis of a genforge graph is dynamic"),
    ([Z, Arg("labels", FLOAT, ["batch"])], [SAMPLES],
     "graph input labels is float32 [batch]; the genforge contract has int64"),
    ([Z, Arg("labels", INT64, ["batch", 1])], [SAMPLES],
     "graph input labels is int64 [batch, 1]; the genforge contract has [N]"),
    ([Arg("z", "tensor(double)", ["batch", 4]), LABELS], [SAMPLES],
     "graph input z is tensor(double) [batch, 4]; the genforge contract has float32"),
    ([Arg("noise", FLOAT, ["batch", 4])], [SAMPLES], "do not follow the genforge contract for a generator"),
])
def test_graphs_outside_the_contract_are_not_genforge_models(inputs, outputs, message):
    with pytest.raises(NotAGenforgeModel) as e:
        check_file(info(), inputs, outputs, "toy.onnx")
    assert str(e.value).startswith("toy.onnx: ") and message in str(e.value) and "\n" not in str(e.value)
    assert type(e.value) is NotAGenforgeModel


def test_a_disagreement_is_a_manifest_mismatch_naming_the_field():
    with pytest.raises(ManifestMismatch) as e:
        check_file(info(sample_shape="[1, 4]"), [Z, LABELS], [SAMPLES], "toy.onnx")
    assert str(e.value) == ("toy.onnx: manifest sample_shape [1, 4] disagrees with the graph: output "
                            "samples is float32 [batch, 1, 2, 2]")
    assert isinstance(e.value, NotAGenforgeModel) and isinstance(e.value, ValueError)
    assert "ManifestMismatch" in genforge_runtime.__all__


def _fixed_batch(path: Path) -> Path:
    model = onnx.load(str(path))
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = 2
    onnx.save(model, str(path))
    return path


def test_load_checks_the_file_it_opens(tmp_path):
    toy = make_model(tmp_path / "toy.onnx", conditional=True, meta=manifest(True, num_classes="0",
                                                                            class_names="[]"))
    with pytest.raises(ManifestMismatch, match="manifest num_classes 0 disagrees with the graph: it has a "
                       "labels input"):
        genforge_runtime.load(toy, device="cpu")
    fixed = _fixed_batch(make_model(tmp_path / "fixed.onnx", conditional=False))
    with pytest.raises(NotAGenforgeModel, match=r"input z is float32 \[2, 4\]: its batch axis is fixed at 2"):
        genforge_runtime.load(fixed, device="cpu")


def test_keys_the_runtime_does_not_know_are_ignored(tmp_path):
    path = make_model(tmp_path / "later.onnx", conditional=False,
                      meta={**manifest(False), "genforge.future": "[1, 2]"})
    assert genforge_runtime.load(path, device="cpu").sample(2, seed=0).shape == (2, 1, 2, 2)


def test_layouts_the_exporter_writes():
    assert [layout_of(s, False) for s in ((1, 8, 8), (2,), (4, 4), (2, 3, 4, 5))] == ["NCHW", "NC", "NDD",
                                                                                      "NDDDD"]
    assert layout_of((8, 8, 3), True) == "NHWC"
