"""``ExportOptions``: the options dict of ``exporter.export`` checked and given defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from genforge import GenforgeError

#: The opset written when none is asked for. torch 2.13's exporter implements opsets 18 and
#: up natively (17 and below go through a version converter that may fail); 18 is the
#: oldest native one, so files load in the widest range of runtimes (onnxruntime >= 1.14).
DEFAULT_OPSET = 18
MIN_OPSET = 18
#: Names ``--part`` accepts for the sampling graph (``export_module``); ``encoder`` asks
#: for ``export_encoder`` (VAE models).
SAMPLER_PARTS = ("generator", "decoder")
ENCODER_PART = "encoder"
#: A model name as a file or folder name: it stays inside the output folder.
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_KIND = {bool: "true or false", int: "an integer", str: "a string", type(None): "a string"}
#: The part an iterative model's file holds: its one-step network (chosen by the model).
STEP_PART = "step"
#: Batch sizes every export is verified at (1, odd, large: catches frozen batch sizes).
VERIFY_BATCHES = (1, 7, 64)


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how; ``None`` in the incoming dict means "the default"."""

    opset: int = DEFAULT_OPSET
    fp16: bool = False
    output: str = "float"
    part: str | None = None
    name: str | None = None
    max_batch_size: int = 256
    verbose: bool = True

    @property
    def encoder(self) -> bool:
        """True when the encoder (``x -> mean, logvar``) is exported instead of the sampler."""
        return self.part == ENCODER_PART

    @property
    def part_name(self) -> str:
        """The part recorded in the manifest: ``generator`` unless one was named."""
        return self.part or "generator"

    @classmethod
    def parse(cls, options: Mapping[str, Any] | None) -> ExportOptions:
        """Check an options dict (the CLI's ``opset``/``fp16``/``output``/``part`` and more)."""
        given = {k: v for k, v in (options or {}).items() if v is not None}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise GenforgeError(f"export options: unknown {', '.join(unknown)}; known: "
                                f"{', '.join(sorted(known))}")
        for f in fields(cls):
            if f.name in given and not _of_type(given[f.name], type(f.default)):
                raise GenforgeError(f"export option {f.name} = {given[f.name]!r}: expected "
                                    f"{_KIND[type(f.default)]}")
        opts = cls(**given)
        if opts.name is not None and not NAME.fullmatch(opts.name):
            raise GenforgeError(f"export option name = {opts.name!r}: expected letters, digits, '.', '_' "
                                "or '-', not starting with '.' (a file name inside --out)")
        import onnx

        newest = onnx.defs.onnx_opset_version()
        if not isinstance(opts.opset, int) or not MIN_OPSET <= opts.opset <= newest:
            raise GenforgeError(f"--opset {opts.opset}: expected an integer from {MIN_OPSET} to "
                                f"{newest} (the exporter writes opsets below {MIN_OPSET} only "
                                "through a lossy converter)")
        if opts.output not in ("float", "uint8"):
            raise GenforgeError(f"--output {opts.output!r}: expected 'float' or 'uint8'")
        if opts.part not in (None, ENCODER_PART, *SAMPLER_PARTS):
            raise GenforgeError(f"--part {opts.part!r}: expected one of "
                                f"{', '.join((*SAMPLER_PARTS, ENCODER_PART))}")
        if opts.encoder and opts.output == "uint8":
            raise GenforgeError("--output uint8 applies to samples, not to the encoder's outputs")
        if not isinstance(opts.max_batch_size, int) or opts.max_batch_size < 1:
            raise GenforgeError(f"max_batch_size {opts.max_batch_size!r}: expected a positive integer")
        return opts


def _of_type(value: Any, kind: type) -> bool:
    """``value`` fits a field whose default is of ``kind`` (no bool for an int, None-defaults take str)."""
    if kind is type(None):
        return isinstance(value, str)
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
