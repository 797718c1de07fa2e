"""``Sampler``: draws latents with numpy and runs the exported graph with onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genforge_runtime.errors import NotAGenforgeModel
from genforge_runtime.labels import check_labels
from genforge_runtime.manifest import parse_manifest
from genforge_runtime.session import CUDA, open_session

if TYPE_CHECKING:
    import onnxruntime as ort

Labels = int | Sequence[int] | np.ndarray | None


class Sampler:
    """A loaded genforge ONNX file: ``sample(n, labels, seed)`` for generators, ``encode(x)`` for encoders."""

    def __init__(self, session: ort.InferenceSession, provider: str, info: dict[str, Any],
                 path: str | Path) -> None:
        self.path = Path(path)
        self.info = info
        self.provider = provider
        self._session = session
        self._inputs = [i.name for i in session.get_inputs()]
        self._outputs = [o.name for o in session.get_outputs()]
        self.part = str(info.get("part", "generator"))
        self.conditional = "labels" in self._inputs
        self.latent_dim = int(info["latent_dim"])
        self.num_classes = int(info["num_classes"])
        self.sample_shape = tuple(int(d) for d in info["sample_shape"])
        self.dtype = np.dtype(info["output_dtype"])
        self._cuda = provider == CUDA
        self._entropy = np.random.default_rng()  # for seed=None: seeded once from the OS
        want = ["x", "labels"] if self.part == "encoder" else ["z", "labels"]
        if self._inputs != want[: len(self._inputs)] or not self._inputs:
            raise NotAGenforgeModel(f"{self.path}: inputs {self._inputs} do not follow the genforge "
                                    f"contract ({' + '.join(want)})")

    @property
    def session(self) -> ort.InferenceSession:
        """The underlying onnxruntime session (for inspection; ``sample`` is the supported API)."""
        return self._session

    def __repr__(self) -> str:
        return (f"Sampler({self.path.name!r}, model={self.info.get('genforge.model')!r}, "
                f"part={self.part!r}, provider={self.provider!r})")

    def sample(self, n: int, labels: Labels = None, seed: int | None = None,
               batch_size: int | None = None) -> np.ndarray:
        """``n`` samples (``[n, *sample_shape]``, ``output_dtype``); the same seed gives the same samples.

        ``z`` is ``numpy.random.default_rng(seed).standard_normal((n, latent_dim), float32)``;
        for a conditional model without ``labels`` the labels are then drawn from the same
        generator. Without a seed, draws continue a generator seeded once from the OS.
        ``batch_size`` splits the work into calls of at most that many samples (the result
        does not depend on it).
        """
        if self.part == "encoder":
            raise ValueError(f"{self.path.name}: holds a VAE encoder; use encode(x), or export the "
                             "decoder to sample")
        n = _count(n, "n", minimum=0)
        y = check_labels(labels, n, self.num_classes, self.conditional)
        rng = self._entropy if seed is None else np.random.default_rng(seed)
        z = rng.standard_normal((n, self.latent_dim), dtype=np.float32)
        if self.conditional and y is None:
            y = rng.integers(0, self.num_classes, n, dtype=np.int64)
        size = max(n, 1) if batch_size is None else _count(batch_size, "batch_size", minimum=1)
        out = None if n and size >= n else np.empty((n, *self.sample_shape), dtype=self.dtype)
        if out is None:
            return self._run(z, y)
        for start in range(0, n, size):
            stop = min(start + size, n)
            self._run(z[start:stop], y[start:stop] if y is not None else None, out[start:stop])
        return out

    def encode(self, x: np.ndarray, labels: Labels = None) -> tuple[np.ndarray, np.ndarray]:
        """Encoder files: ``(mean, logvar)`` of q(z|x) for ``x`` of shape ``[n, *sample_shape]``."""
        if self.part != "encoder":
            raise ValueError(f"{self.path.name}: holds a {self.part}, not an encoder; use sample(n)")
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape[1:] != self.sample_shape:
            raise ValueError(f"x: expected shape [n, {', '.join(map(str, self.sample_shape))}], "
                             f"got {list(x.shape)}")
        y = check_labels(labels, len(x), self.num_classes, self.conditional)
        if self.conditional and y is None:
            raise ValueError("labels: this encoder is conditional; pass one label per row of x")
        feeds = {"x": x, **({"labels": y} if y is not None else {})}
        mean, logvar = self._session.run(self._outputs, feeds)
        return mean, logvar

    def _run(self, z: np.ndarray, y: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
        """One session call; writes into ``out`` when given (CUDA: straight from the device).

        Nothing here is shared between calls, so one sampler may serve several threads.
        """
        if not self._cuda:
            feeds = {"z": z, "labels": y} if self.conditional else {"z": z}
            result = self._session.run(self._outputs, feeds)[0]
            if out is None:
                return result
            out[...] = result
            return out
        if out is None:
            out = np.empty((len(z), *self.sample_shape), dtype=self.dtype)
        io = self._session.io_binding()
        io.bind_cpu_input("z", z)
        if self.conditional:
            io.bind_cpu_input("labels", y)
        io.bind_output(self._outputs[0], "cpu", 0, out.dtype, list(out.shape), out.ctypes.data)
        self._session.run_with_iobinding(io)
        return out


def _count(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def load(path: str | Path, device: str = "auto", threads: int | None = None) -> Sampler:
    """Open a genforge ONNX file on ``device`` ("auto", "cuda", "cuda:N" or "cpu").

    ``threads`` caps onnxruntime's intra-op threads (default: one per physical core).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    session, provider = open_session(p, device, threads)
    info = parse_manifest(session.get_modelmeta().custom_metadata_map, p)
    return Sampler(session, provider, info, p)
