"""Optional model capabilities, declared as protocols and checked with ``isinstance``.

A model family opts in by defining the method; genforge checks for it here, not by
probing attributes where the capability is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch
    from torch import nn


@runtime_checkable
class SupportsLikelihood(Protocol):
    """Scores data: the ``nll`` metric and the ``log_likelihood`` conformance check use it."""

    def log_likelihood(self, x: torch.Tensor, labels: torch.Tensor | None = None, k: int = ...,
                       generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Per-example log-likelihoods or lower bounds ``[N]``, by name (``elbo``, ``iwae``, ...)."""
        ...


@runtime_checkable
class SupportsReconstruction(Protocol):
    """Encodes and decodes inputs: ``genforge sample --reconstruct`` uses it."""

    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Inputs ``[N, ...]`` passed through the model, in the data's value range."""
        ...


@runtime_checkable
class SupportsEncoderExport(Protocol):
    """Has an encoder to export (``genforge export --part encoder``)."""

    def export_encoder(self) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str], list[str]]:
        """``(module, example inputs, input names, output names)`` of the encoder graph."""
        ...


def supports(model: object, capability: type) -> bool:
    """True when ``model`` (an instance or a model class) has the ``capability`` protocol's methods."""
    if isinstance(model, type):
        return issubclass(model, capability)
    return isinstance(model, capability)
