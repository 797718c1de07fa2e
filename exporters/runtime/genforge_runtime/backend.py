"""Which onnxruntime runs the models: exactly one of ``onnxruntime`` and ``onnxruntime-gpu``.

genforge-runtime depends on neither (``genforge-runtime[cpu]`` brings onnxruntime,
``[gpu]`` onnxruntime-gpu), so ``import genforge_runtime`` works with numpy alone; the
check runs when a session is opened and in ``genforge-run``. Both packages install into
one ``onnxruntime/`` folder, so with both present whichever was installed last wins
file by file (CUDA silently disappears) while ``pip check`` stays clean: that is refused.
"""

from __future__ import annotations

from importlib import metadata
from types import ModuleType

from genforge_runtime.errors import RuntimeUnavailable

#: The onnxruntime distributions and the genforge-runtime extra that brings each.
FLAVOURS = {"onnxruntime": "cpu", "onnxruntime-gpu": "gpu"}
MISSING = ("onnxruntime is not installed: install genforge-runtime[cpu] (onnxruntime) or "
           "genforge-runtime[gpu] (onnxruntime-gpu)")
BOTH = ("both onnxruntime and onnxruntime-gpu are installed and overwrite each other's files: "
        "remove one (pip uninstall onnxruntime), then reinstall the other "
        "(pip install --force-reinstall onnxruntime-gpu)")


def installed_flavours() -> list[str]:
    """The onnxruntime distributions installed in this environment (by their metadata)."""
    found = []
    for name in FLAVOURS:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


def check_onnxruntime() -> None:
    """Raise ``RuntimeUnavailable`` (one line) unless exactly one onnxruntime is installed."""
    found = installed_flavours()
    if len(found) > 1:
        raise RuntimeUnavailable(BOTH)
    if not found:
        try:
            import onnxruntime  # noqa: F401 - another build (e.g. from source) is fine
        except ImportError:
            raise RuntimeUnavailable(MISSING) from None


def onnxruntime() -> ModuleType:
    """The ``onnxruntime`` module, after ``check_onnxruntime``."""
    check_onnxruntime()
    try:
        import onnxruntime as ort
    except ImportError as e:  # installed but broken (e.g. half removed)
        raise RuntimeUnavailable(f"onnxruntime cannot be imported ({e}); reinstall "
                                 "genforge-runtime[cpu] or genforge-runtime[gpu]") from None
    return ort
