"""Export verifies with onnxruntime: none or both installed is a one-line error before exporting."""

from __future__ import annotations

import sys

import pytest

from genforge.cli import main
from genforge_runtime import backend


@pytest.mark.parametrize(("installed", "message"), [
    (set(), backend.MISSING), ({"onnxruntime", "onnxruntime-gpu"}, backend.BOTH)])
def test_export_says_which_onnxruntime_to_install_or_remove(checkpoint, tmp_path, capsys, monkeypatch,
                                                            installed, message):
    monkeypatch.setattr(backend, "installed_flavours", lambda: sorted(installed))
    if not installed:
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
    out = tmp_path / "m.onnx"
    assert main(["export", str(checkpoint("gan")), "--format", "onnx", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"genforge: error: verifying an ONNX export needs onnxruntime: {message}\n"
    assert not out.exists()
