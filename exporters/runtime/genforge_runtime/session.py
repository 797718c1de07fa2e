"""Choosing the execution provider: CUDA when asked and really in use, CPU otherwise."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from genforge_runtime.backend import onnxruntime
from genforge_runtime.cpus import cpu_count, usable_cpus
from genforge_runtime.errors import NotAGenforgeModel, RuntimeUnavailable

if TYPE_CHECKING:
    import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda", "cuda:N")

logger = logging.getLogger("genforge_runtime")


def parse_device(device: str) -> tuple[str, int]:
    """``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` -> (kind, CUDA device id)."""
    kind, _, index = str(device).strip().lower().partition(":")
    if kind in ("auto", "cpu", "cuda") and (not index or (kind == "cuda" and index.isdigit())):
        return kind, int(index or 0)
    raise ValueError(f"device {device!r}: expected one of {', '.join(DEVICES)}")


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (onnxruntime's run to many lines)."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Options of every session: warnings silenced, ``threads`` intra-op threads (None: a usable CPU each)."""
    so = onnxruntime().SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads or usable_cpus()
    return so


def cpu_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    """A session on the CPU provider; ``NotAGenforgeModel`` if onnxruntime cannot load the file."""
    try:
        return onnxruntime().InferenceSession(str(path), session_options(threads), providers=[CPU])
    except Exception as e:  # onnxruntime's exception classes derive from Exception only
        raise NotAGenforgeModel(f"{path}: onnxruntime cannot load it as an ONNX model: "
                                f"{first_line(e)}") from None


def cuda_session(path: str | Path, device_id: int = 0, threads: int | None = None) -> ort.InferenceSession:
    """A session on CUDA alone with CPU fallback disabled; ``RuntimeUnavailable`` unless CUDA is in use.

    onnxruntime places shape-computing nodes on the CPU on purpose; a graph with such nodes
    cannot load with fallback disabled, so it is then opened without the flag, and
    ``get_providers()`` still decides whether CUDA is really in use.
    """
    ort = onnxruntime()
    if CUDA not in ort.get_available_providers():
        raise RuntimeUnavailable(f"device 'cuda': this onnxruntime {ort.__version__} build has no "
                                 f"{CUDA} (install onnxruntime-gpu, and not onnxruntime beside it)")
    providers = [(CUDA, {"device_id": device_id})]
    # onnxruntime-gpu on a machine without a usable GPU logs errors through its default
    # logger (not the session's); the outcome is reported here instead, as an error or a log line.
    ort.set_default_logger_severity(4)
    so = session_options(threads)
    so.log_severity_level = 4  # a refusal below is expected and handled, not worth an error line
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    try:
        try:
            session = ort.InferenceSession(str(path), so, providers=providers)
        except Exception as e:  # onnxruntime's exception classes vary by build
            if "assigned to the default CPU EP" not in str(e):
                raise
            logger.info("genforge_runtime: %s has CPU-placed shape nodes; opening it without "
                        "disable_cpu_ep_fallback", Path(path).name)
            session = ort.InferenceSession(str(path), session_options(threads), providers=providers)
    except Exception as e:
        raise RuntimeUnavailable(f"device 'cuda': onnxruntime could not create a CUDA session: "
                                 f"{first_line(e)}") from None
    if CUDA not in session.get_providers():
        raise RuntimeUnavailable(f"device 'cuda': the session fell back to {session.get_providers()} "
                                 "(no usable GPU, or the CUDA/cuDNN libraries are missing)")
    return session


def open_session(path: str | Path, device: str = "auto",
                 threads: int | None = None) -> tuple[ort.InferenceSession, str]:
    """Open ``path`` on ``device``; return the session and the provider actually in use.

    ``RuntimeUnavailable`` (one line) when no onnxruntime, or both, are installed.
    """
    kind, device_id = parse_device(device)
    ort = onnxruntime()
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads: expected a positive integer or None, got {threads!r}")
    if threads is not None and threads > cpu_count():
        raise ValueError(f"threads: at most {cpu_count()} (this machine's CPUs), got {threads}")
    if kind == "cuda":
        session = cuda_session(path, device_id, threads)
    elif kind == "auto" and CUDA in ort.get_available_providers():
        try:
            session = cuda_session(path, device_id, threads)
        except RuntimeUnavailable as e:
            logger.info("genforge_runtime: CUDA not usable (%s); using %s", e, CPU)
            session = cpu_session(path, threads)
    else:
        session = cpu_session(path, threads)
    provider = session.get_providers()[0]
    logger.info("genforge_runtime: %s runs on %s", Path(path).name, provider)
    return session, provider
