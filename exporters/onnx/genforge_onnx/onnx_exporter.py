"""The ``onnx`` exporter: one verified ``.onnx`` file with the manifest in its metadata."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genforge_onnx.build import build_verified, verify_file
from genforge_onnx.files import write_onnx
from genforge_onnx.options import ExportOptions
from genforge_onnx.verify import Verification


def target_file(path: Path, name: str) -> Path:
    """``path`` itself, or ``path/NAME.onnx`` when it is an existing folder."""
    return path / f"{name}.onnx" if path.is_dir() else path


class OnnxExporter:
    """Exports a loaded checkpoint's sampling graph (or VAE encoder) to one ONNX file."""

    def export(self, loaded: Any, path: Path, options: Mapping[str, Any] | None = None) -> Path:
        """Export, verify, then write ``path`` atomically; a failed check raises and writes nothing."""
        opts = ExportOptions.parse(options)
        target = target_file(Path(path), opts.name or loaded.config.model_entry.name)
        built = build_verified(loaded, opts)
        write_onnx(built.model, target, built.verification)
        if opts.verbose:
            print(f"verified {target.name}: {built.verification.summary()}")
        return target

    def verify(self, loaded: Any, path: Path) -> Verification:
        """Re-check an existing export against ``loaded`` (same checks as at export); raise on failure."""
        verification = verify_file(loaded, Path(path))
        print(f"verified {Path(path).name}: {verification.summary()}")
        return verification


#: The object the ``onnx`` exporter name resolves to.
exporter = OnnxExporter()
