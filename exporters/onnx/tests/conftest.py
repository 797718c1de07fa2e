"""Tiny trained checkpoints (2 steps, tiny widths) and a cache of their exports."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from onnx_testkit import train_tiny

import genforge
from genforge_onnx.onnx_exporter import exporter


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``checkpoint(name)``: a run folder of a tiny trained model (trained once per session)."""
    root = tmp_path_factory.mktemp("runs")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = train_tiny(name, root)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def loaded(checkpoint: Any) -> Any:
    """``loaded(name)``: the tiny checkpoint loaded on the CPU (cached)."""
    cache: dict[str, genforge.LoadedModel] = {}

    def get(name: str) -> genforge.LoadedModel:
        if name not in cache:
            cache[name] = genforge.load(checkpoint(name), device="cpu")
        return cache[name]

    return get


@pytest.fixture(scope="session")
def exported(loaded: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``exported(name, **options)``: path of the verified export (cached per name and options)."""
    root = tmp_path_factory.mktemp("exports")
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], Path] = {}

    def get(name: str, **options: Any) -> Path:
        key = (name, tuple(sorted(options.items())))
        if key not in cache:
            stem = "-".join([name, *(f"{k}={v}" for k, v in key[1])])
            with contextlib.redirect_stdout(io.StringIO()):
                cache[key] = exporter.export(loaded(name), root / f"{stem}.onnx", options)
        return cache[key]

    return get
