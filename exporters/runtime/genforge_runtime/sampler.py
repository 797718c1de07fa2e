"""``Sampler``: draws latents with numpy and runs the exported graph with onnxruntime."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genforge_runtime import samplers
from genforge_runtime.contract import check_file, sampling_of
from genforge_runtime.labels import check_labels
from genforge_runtime.manifest import parse_manifest
from genforge_runtime.noise import NoiseStreams
from genforge_runtime.session import CUDA, open_session
from genforge_runtime.sizes import gather

if TYPE_CHECKING:
    import onnxruntime as ort

Labels = int | Sequence[int] | np.ndarray | None
#: Sample-time options an iterative file takes (``sample(..., steps=20, guidance=2)``).
OPTION_NAMES = ("sampler", "steps", "eta", "guidance")


class Sampler:
    """A loaded genforge ONNX file: ``sample(n, labels, seed)`` for generators, ``encode(x)`` for encoders.

    Files of iterative models hold the one-step network (``part = "step"``); ``sample``
    then runs the sampler the manifest names, in numpy, with ``genforge_runtime.samplers``.
    """

    def __init__(self, session: ort.InferenceSession, provider: str, info: dict[str, Any],
                 path: str | Path) -> None:
        self.path = Path(path)
        self.info = info
        self.provider = provider
        self._session = session
        self._inputs = [i.name for i in session.get_inputs()]
        self._outputs = [o.name for o in session.get_outputs()]
        check_file(info, session.get_inputs(), session.get_outputs(), self.path)
        self.part = str(info["part"])
        self.conditional = "labels" in self._inputs
        self.latent_dim = int(info["latent_dim"])
        self.num_classes = int(info["num_classes"])
        self.sample_shape = tuple(int(d) for d in info["sample_shape"])
        self.dtype = np.dtype(info["output_dtype"])
        rng = info.get("output_range")
        self._clip = (float(rng[0]), float(rng[1])) if rng and self.dtype == np.float32 else None
        self._cuda = provider == CUDA
        self.iterative = self.part == "step"
        sampling = sampling_of(info, self.path)
        self.process: samplers.Process | None = None if sampling is None else sampling[0]
        self.defaults: samplers.Settings | None = None if sampling is None else sampling[1]
        self.null_label: int | None = None if sampling is None else sampling[2]
        self._plans: dict[samplers.Settings, tuple[list[samplers.Call], list[np.ndarray]]] = {}
        # onnxruntime's Python run() re-checks the feed names on every call; ours are fixed and
        # were checked above, so CPU calls go to the C++ session directly (a few microseconds
        # per call, which is the whole network for small decoders at batch 1)
        core = getattr(session, "_sess", None)
        self._run_fast = core.run if core is not None and not self._cuda else session.run

    @property
    def session(self) -> ort.InferenceSession:
        """The underlying onnxruntime session (for inspection; ``sample`` is the supported API)."""
        return self._session

    def __repr__(self) -> str:
        return (f"Sampler({self.path.name!r}, model={self.info.get('genforge.model')!r}, "
                f"part={self.part!r}, provider={self.provider!r})")

    def settings(self, **options: Any) -> samplers.Settings:
        """The sampler settings of a call: the file's defaults with ``options`` changed."""
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown sample-time option; known: {', '.join(OPTION_NAMES)}")
        if self.defaults is None or self.process is None:
            if options:
                raise ValueError(f"{next(iter(options))}: {self.path.name} holds a one-shot "
                                 f"{self.part}, which takes no sample-time options")
            raise ValueError(f"{self.path.name}: not an iterative model")
        changed = {k: v for k, v in options.items() if v is not None}
        settings = samplers.Settings(**{**self.defaults.to_dict(), **changed}).check(self.process)
        if settings.guidance not in (0.0, 1.0) and self.null_label is None:
            raise ValueError(f"guidance {settings.guidance}: {self.path.name} was not trained for "
                             "classifier-free guidance (no null label); use 0")
        return settings

    def sample(self, n: int, labels: Labels = None, seed: int | None = None,
               batch_size: int | None = None, **options: Any) -> np.ndarray:
        """``n`` samples (``[n, *sample_shape]``, ``output_dtype``); the same seed gives the same samples.

        Draws follow the noise contract of ``genforge_runtime.noise`` (labels from stream 0
        when none are given, ``z`` from stream 1, step ``j``'s noise from stream ``2 + j``),
        so neither ``batch_size`` (calls of at most that many samples) nor the device
        changes them. Without a seed, a call takes a fresh seed from the OS.
        ``options`` (iterative files): ``sampler``, ``steps``, ``eta``, ``guidance``.
        """
        if (not options and batch_size is None and not self.iterative and not self._cuda
                and self.part != "encoder" and type(n) is int and n > 0):
            streams = NoiseStreams(seed)
            feeds = {"z": streams.latents(n, self.latent_dim)}
            if self.conditional:
                y = check_labels(labels, n, self.num_classes, True)
                feeds["labels"] = streams.labels(n, self.num_classes) if y is None else y
            elif labels is not None:
                check_labels(labels, n, self.num_classes, False)
            return self._run_fast(self._outputs, feeds, None)[0]
        n = _count(n, "n", minimum=0)
        return gather(n, self.sample_shape, self.dtype, self.batches(n, labels, seed, batch_size, **options))

    def batches(self, n: int, labels: Labels = None, seed: int | None = None,
                batch_size: int | None = None, **options: Any) -> Iterator[np.ndarray]:
        """``sample`` batch by batch (at most ``batch_size`` rows each): memory bounded by the batch."""
        if self.part == "encoder":
            raise ValueError(f"{self.path.name}: holds a VAE encoder; use encode(x), or export the "
                             "decoder to sample")
        n = _count(n, "n", minimum=0)
        size = max(n, 1) if batch_size is None else _count(batch_size, "batch_size", minimum=1)
        one = isinstance(labels, (int, np.integer)) and not isinstance(labels, bool)
        y = check_labels(labels, 1 if one else n, self.num_classes, self.conditional)
        settings = self.settings(**options) if self.iterative or options else None
        streams = NoiseStreams(seed)
        for start in range(0, n, size):
            rows = min(size, n - start)
            yb = None if y is None else np.full(rows, y[0]) if one else y[start : start + rows]
            if self.conditional and yb is None:
                yb = streams.labels(rows, self.num_classes)
            if settings is None:
                yield self._run(streams.latents(rows, self.latent_dim), yb)
            else:
                yield self._loop(streams, rows, yb, settings)

    def _loop(self, streams: NoiseStreams, rows: int, y: np.ndarray | None,
              settings: samplers.Settings) -> np.ndarray:
        """One batch of an iterative model: the sampler's calls of the step graph."""
        assert self.process is not None
        shape = (rows, *self.sample_shape)
        feeds: dict[str, np.ndarray] = {"t": np.empty(rows, dtype=np.float32),
                                        "aux": np.zeros(shape, dtype=np.float32),
                                        "coef": np.zeros(5, dtype=np.float32)}
        if y is not None:
            feeds["labels"] = y
        x = streams.latents(rows, self.latent_dim).reshape(shape)
        calls, coefs = self._plan(settings)
        if settings.guidance in (0.0, 1.0):  # one session call per network call, update inside
            x = self._calls(calls, coefs, streams, x, feeds)
        else:  # the guided prediction combines two predictions; the update runs here
            x = samplers.run_calls(calls, x, samplers.guided(self._pair(y), settings.guidance),
                                   lambda j: streams.step(j, shape))
        out = np.ascontiguousarray(self.process.to_samples(x), dtype=np.float32)
        if self._clip is not None:
            np.clip(out, *self._clip, out=out)
        return out

    def _calls(self, calls: list[samplers.Call], coefs: list[np.ndarray], streams: NoiseStreams,
               x: np.ndarray, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Run ``calls`` from ``x``, one session call each; a noisy call's ``aux`` is its step's noise."""
        t, carry, run = feeds["t"], feeds["aux"], self._run_fast
        outputs = list(samplers.UPDATE_OUTPUTS)
        for call, coef in zip(calls, coefs, strict=True):
            t.fill(call.t)
            feeds["x"], feeds["coef"] = x, coef
            feeds["aux"] = carry if call.noise is None else streams.step(call.noise, x.shape)
            x, carry = run(outputs, feeds, None)
        return x

    def _plan(self, settings: samplers.Settings) -> tuple[list[samplers.Call], list[np.ndarray]]:
        """The sampler's calls and their ``coef`` inputs (kept per settings)."""
        plan = self._plans.get(settings)
        if plan is None:
            assert self.process is not None
            calls = samplers.make(self.process, settings).plan()
            plan = (calls, [np.array(c.coefficients(), dtype=np.float32) for c in calls])
            if len(self._plans) >= 16:
                self._plans.clear()
            self._plans[settings] = plan
        return plan

    def _pair(self, y: np.ndarray | None) -> Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]]:
        """``pair(x, t)``: the conditional and unconditional predictions of one call at batch 2n."""
        if y is None:
            raise ValueError("guidance needs labels")  # checked by settings(); kept for the type checker
        n = len(y)
        feeds = {"t": np.empty(2 * n, dtype=np.float32),
                 "labels": np.concatenate([y, np.full(n, self.null_label or 0, dtype=np.int64)]),
                 "aux": np.zeros((2 * n, *self.sample_shape), dtype=np.float32),
                 "coef": np.zeros(5, dtype=np.float32)}
        run = self._run_fast

        def pair(x: np.ndarray, tv: float) -> tuple[np.ndarray, np.ndarray]:
            feeds["t"].fill(tv)
            feeds["x"] = np.concatenate([x, x])
            out = run(["prediction"], feeds, None)[0]
            return out[:n], out[n:]

        return pair

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

    def _run(self, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        """One session call of a one-shot graph (CUDA: outputs straight from the device)."""
        if not self._cuda:
            feeds = {"z": z, "labels": y} if self.conditional else {"z": z}
            return self._run_fast(self._outputs, feeds, None)[0]
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
