"""genforge-runtime: sample genforge ONNX exports with numpy and onnxruntime only.

    import genforge_runtime
    sampler = genforge_runtime.load("cgan.onnx")          # device="auto": CUDA if usable, else CPU
    images = sampler.sample(16, labels=3, seed=0)         # float32 [16, C, H, W] in [0, 1]
    png = genforge_runtime.png_bytes(images, sampler.info["output_layout"])  # one PNG grid (Pillow)

This package never imports torch or genforge: the manifest in the file's metadata is
its whole contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genforge_runtime.errors import ManifestMismatch, NotAGenforgeModel, RuntimeUnavailable

if TYPE_CHECKING:
    from genforge_runtime.grid import png_bytes
    from genforge_runtime.sampler import Sampler, load

__version__ = "0.1.0"
__all__ = ["ManifestMismatch", "NotAGenforgeModel", "RuntimeUnavailable", "Sampler", "load", "png_bytes",
           "__version__"]


def __getattr__(name: str) -> Any:
    """``Sampler``, ``load`` and ``png_bytes`` load numpy on first use: importing the package stays cheap."""
    if name in ("Sampler", "load"):
        from genforge_runtime import sampler

        return getattr(sampler, name)
    if name == "png_bytes":
        from genforge_runtime.grid import png_bytes

        return png_bytes
    raise AttributeError(f"module 'genforge_runtime' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (``dir(genforge_runtime)``), the lazy ones included."""
    return sorted(__all__)
