"""Failed verification: one-line error, exit status 2, and no file left behind."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import genforge
import genforge_onnx.verify
from genforge.cli import main as genforge_main
from genforge_onnx.onnx_exporter import exporter
from genforge_onnx.triton import exporter as triton_exporter


class BatchFrozen(nn.Module):
    """Branches on the batch size in Python: the exporter freezes the branch it saw (batch 2)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        out = self.inner(z, labels) if labels is not None else self.inner(z)
        return out if z.shape[0] <= 4 else out * 0.5


def test_cli_exits_2_with_one_line_and_leaves_nothing(checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(genforge_onnx.verify, "FP32_TOLERANCE", 0.0)
    out = tmp_path / "new" / "deeper" / "cgan.onnx"
    assert genforge_main(["export", str(checkpoint("cgan")), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genforge: error: verification failed: max abs error") and "\n" not in err
    assert "exceeds the tolerance 0" in err
    assert list(tmp_path.iterdir()) == []  # not even the folders it created


def test_batch_dependent_branching_fails_at_batch_7(loaded, tmp_path, monkeypatch):
    model = loaded("cgan").model
    module, inputs, names, outputs = model.export_module()
    monkeypatch.setattr(model, "export_module", lambda: (BatchFrozen(module), inputs, names, outputs))
    with pytest.raises(genforge.GenforgeError, match="at batch 7 exceeds the tolerance"):
        exporter.export(loaded("cgan"), tmp_path / "frozen.onnx", {})
    with pytest.raises(genforge.GenforgeError, match="at batch 7"):
        triton_exporter.export(loaded("cgan"), tmp_path / "repo", {})
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_existing_file_untouched(loaded, tmp_path, monkeypatch):
    path = exporter.export(loaded("gan"), tmp_path / "gan.onnx", {"verbose": False})
    before = path.read_bytes()
    monkeypatch.setattr(genforge_onnx.verify, "FP16_TOLERANCE", 0.0)
    with pytest.raises(genforge.GenforgeError, match="verification failed"):
        exporter.export(loaded("gan"), path, {"fp16": True})
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["gan.onnx"]


def test_contract_violations_are_refused(loaded, tmp_path, monkeypatch):
    model = loaded("gan").model
    module, inputs, _, _ = model.export_module()
    monkeypatch.setattr(model, "export_module", lambda: (module, inputs, ["noise"], ["samples"]))
    with pytest.raises(genforge.GenforgeError, match="contract needs"):
        exporter.export(loaded("gan"), tmp_path / "x.onnx", {})
    assert list(tmp_path.iterdir()) == []


def test_verify_rechecks_an_existing_file(loaded, exported, tmp_path, capsys):
    result = exporter.verify(loaded("cgan"), exported("cgan", output="uint8"))
    assert result.max_abs_error <= 1 and result.unit == "counts"
    assert "max abs error" in capsys.readouterr().out
    with pytest.raises(genforge.GenforgeError, match="other weights"):
        exporter.verify(loaded("gan"), exported("cgan"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00junk")
    with pytest.raises(genforge.GenforgeError, match="junk.onnx: not a"):
        exporter.verify(loaded("gan"), junk)
