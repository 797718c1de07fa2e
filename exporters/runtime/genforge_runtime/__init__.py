"""genforge-runtime: sample genforge ONNX exports with numpy and onnxruntime only.

    import genforge_runtime
    sampler = genforge_runtime.load("cgan.onnx")          # device="auto": CUDA if usable, else CPU
    images = sampler.sample(16, labels=3, seed=0)         # float32 [16, C, H, W] in [0, 1]

This package never imports torch or genforge: the manifest in the file's metadata is
its whole contract.
"""

from __future__ import annotations

from genforge_runtime.errors import NotAGenforgeModel, RuntimeUnavailable
from genforge_runtime.sampler import Sampler, load

__version__ = "0.1.0"
__all__ = ["NotAGenforgeModel", "RuntimeUnavailable", "Sampler", "load", "__version__"]
