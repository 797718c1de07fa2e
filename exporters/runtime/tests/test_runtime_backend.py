"""Exactly one onnxruntime: none or both installed is a one-line error at load and in genforge-run."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

import genforge_runtime
from genforge_runtime import backend
from genforge_runtime.cli import main


def pretend_installed(monkeypatch: pytest.MonkeyPatch, names: set[str]) -> None:
    """Make the metadata lookup see exactly ``names`` among the onnxruntime flavours."""
    real = metadata.distribution

    def distribution(name: str) -> metadata.Distribution:
        if name in backend.FLAVOURS and name not in names:
            raise metadata.PackageNotFoundError(name)
        return real("onnxruntime") if name in backend.FLAVOURS else real(name)

    monkeypatch.setattr(backend.metadata, "distribution", distribution)
    if not names:
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not importable either


def test_this_environment_has_exactly_one():
    assert len(backend.installed_flavours()) == 1
    backend.check_onnxruntime()


@pytest.mark.parametrize(("names", "message"), [
    (set(), backend.MISSING), ({"onnxruntime", "onnxruntime-gpu"}, backend.BOTH)])
def test_load_and_genforge_run_say_which_to_install_or_remove(toy, tmp_path, capsys, monkeypatch,
                                                               names, message):
    pretend_installed(monkeypatch, names)
    with pytest.raises(genforge_runtime.RuntimeUnavailable) as err:
        genforge_runtime.load(toy)
    assert str(err.value) == message and "\n" not in message
    assert main([str(toy), "-n", "4", "--out", str(tmp_path / "x.npy")]) == 2
    assert capsys.readouterr().err == f"genforge-run: error: {message}\n"
    assert not (tmp_path / "x.npy").exists()


def test_the_messages_name_the_extras_and_the_fix():
    assert "genforge-runtime[cpu]" in backend.MISSING and "genforge-runtime[gpu]" in backend.MISSING
    assert "both onnxruntime and onnxruntime-gpu are installed" in backend.BOTH
    assert "remove one" in backend.BOTH


def test_importing_the_package_needs_no_onnxruntime():
    code = ("import sys\n"
            "sys.modules['onnxruntime'] = None\n"
            "import genforge_runtime, genforge_runtime.cli\n"
            "assert 'onnxruntime' not in [m for m, v in sys.modules.items() if v is not None]\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
