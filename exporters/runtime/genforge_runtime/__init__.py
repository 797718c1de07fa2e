"""genforge-runtime: sample genforge ONNX exports with numpy and onnxruntime only.

    import genforge_runtime
    sampler = genforge_runtime.load("cgan.onnx")          # device="auto": CUDA if usable, else CPU
    images = sampler.sample(16, labels=3, seed=0)         # float32 [16, C, H, W] in [0, 1]

This package never imports torch or genforge: the manifest in the file's metadata is
its whole contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genforge_runtime.errors import ManifestMismatch, NotAGenforgeModel, RuntimeUnavailable

if TYPE_CHECKING:
    from genforge_runtime.sampler import Sampler, load

__version__ = "0.1.0"
__all__ = ["ManifestMismatch", "NotAGenforgeModel", "RuntimeUnavailable", "Sampler", "load", "__version__"]


def __getattr__(name: str) -> Any:
    """``Sampler`` and ``load`` load numpy on first use: the package's argument types stay cheap."""
    if name in ("Sampler", "load"):
        from genforge_runtime import sampler

        return getattr(sampler, name)
    raise AttributeError(f"module 'genforge_runtime' has no attribute {name!r}")
