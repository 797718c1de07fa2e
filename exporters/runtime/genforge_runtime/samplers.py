"""Iterative samplers, written once for numpy arrays and torch tensors alike.

A sampler turns a one-step network (``predict(x, t) -> prediction``) into samples. Its
coefficients are Python floats and it touches the arrays only through ``+``, ``-`` and
``*``, so the same code steps numpy arrays in ``genforge_runtime`` and torch tensors in a
model family: PyTorch and the ONNX file agree by construction.

Processes (fixed when the model is trained, recorded in the manifest as ``Process``):

- ``diffusion``: discrete timesteps ``0 .. train_steps - 1`` with cumulative signal
  ``abar[t]`` from a ``linear`` (betas from 1e-4 to 0.02, scaled by 1000 / train_steps)
  or ``cosine`` (Nichol & Dhariwal, s = 0.008) schedule; ``x_t = sqrt(abar) x_0 +
  sqrt(1 - abar) eps``; the network sees ``t`` as a float and predicts ``epsilon`` or
  ``v`` (= sqrt(abar) eps - sqrt(1 - abar) x_0). Samplers: ``ddpm`` (ancestral),
  ``ddim`` (``eta`` 0: deterministic, 1: DDPM-like noise), ``dpmpp_2m``
  (DPM-Solver++(2M), deterministic). ``steps`` timesteps are spaced evenly, the first
  being ``train_steps - 1``.
- ``flow`` (flow matching): ``x_s = (1 - s) x_0 + s eps`` for ``s`` from 1 (noise) to 0
  (data); the network sees ``t = s`` and predicts the ``velocity`` ``eps - x_0``.
  Samplers: ``euler`` and ``heun`` on ``steps`` equal intervals.

Classifier-free guidance: with ``guidance`` ``w`` other than 0 or 1 the prediction is
``u + w (c - u)`` of the conditional ``c`` and unconditional ``u`` predictions; 0 and 1
mean off (the conditional prediction alone).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

Predict = Callable[[Any, float], Any]
Draw = Callable[[int], Any]

SAMPLERS = {"diffusion": ("ddpm", "ddim", "dpmpp_2m"), "flow": ("euler", "heun")}
PREDICTIONS = {"diffusion": ("epsilon", "v"), "flow": ("velocity",)}
SCHEDULES = {"diffusion": ("linear", "cosine"), "flow": ("linear",)}


@dataclass(frozen=True)
class Process:
    """The noising process a step network was trained for (what the manifest records)."""

    kind: str = "diffusion"
    schedule: str = "linear"
    prediction: str = "epsilon"
    train_steps: int = 1000
    #: the loop's final ``x`` maps to samples as ``x * scale + shift`` (then clipped to the
    #: data's value range), e.g. 0.5 and 0.5 for a model of images scaled to [-1, 1]
    scale: float = 1.0
    shift: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SAMPLERS:
            raise ValueError(f"process.kind {self.kind!r}: expected one of {', '.join(SAMPLERS)}")
        for field, table in (("schedule", SCHEDULES), ("prediction", PREDICTIONS)):
            if getattr(self, field) not in table[self.kind]:
                raise ValueError(f"process.{field} {getattr(self, field)!r}: a {self.kind} process "
                                 f"takes {', '.join(table[self.kind])}")
        steps = self.train_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise ValueError(f"process.train_steps {self.train_steps!r}: expected an integer >= 2")
        for name in ("scale", "shift"):
            if not isinstance(getattr(self, name), (int, float)) or not math.isfinite(getattr(self, name)):
                raise ValueError(f"process.{name} {getattr(self, name)!r}: expected a finite number")

    def to_samples(self, x: Any) -> Any:
        """The loop's final ``x`` in data units (before clipping to the value range)."""
        return x if (self.scale, self.shift) == (1.0, 0.0) else x * self.scale + self.shift

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Process:
        """The process a manifest or config recorded (``ValueError`` naming a bad field)."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"process: unknown field {unknown[0]!r}")
        return cls(**data)


@dataclass(frozen=True)
class Settings:
    """Sample-time choices: which sampler, how many steps, DDIM's ``eta``, the guidance scale."""

    sampler: str
    steps: int
    eta: float = 0.0
    guidance: float = 0.0

    def check(self, process: Process) -> Settings:
        """Return self if it suits ``process``; else ``ValueError`` naming the field."""
        if self.sampler not in SAMPLERS[process.kind]:
            raise ValueError(f"sampler {self.sampler!r}: a {process.kind} model takes "
                             f"{', '.join(SAMPLERS[process.kind])}")
        top = process.train_steps if process.kind == "diffusion" else 100_000
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= top:
            raise ValueError(f"steps {self.steps!r}: expected an integer from 1 to {top}")
        for name in ("eta", "guidance"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < math.inf:
                raise ValueError(f"{name} {value!r}: expected a finite number >= 0")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def guided(pair: Callable[[Any, float], tuple[Any, Any]], guidance: float) -> Predict:
    """Classifier-free guidance ``w`` (other than 0 or 1, which mean off): ``u + w (c - u)``.

    ``pair(x, t)`` returns the conditional and unconditional predictions ``(c, u)``; callers
    compute both in one network call on ``x`` twice (the labels, then the null label), at
    twice the batch, which costs less than two calls.
    """
    w = float(guidance)

    def combined(x: Any, t: float) -> Any:
        c, u = pair(x, t)
        return u + (c - u) * w

    return combined


def alphas_cumprod(process: Process) -> list[float]:
    """``abar[t]`` for ``t = 0 .. train_steps - 1`` (Python floats)."""
    n = process.train_steps
    if process.schedule == "linear":
        lo, hi = 1e-4 * 1000 / n, min(0.02 * 1000 / n, 0.999)
        betas = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    else:
        def f(t: float) -> float:
            return math.cos((t / n + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = [min(1.0 - f(i + 1) / f(i), 0.999) for i in range(n)]
    out, prod = [], 1.0
    for b in betas:
        prod *= 1.0 - b
        out.append(prod)
    return out


def timesteps(process: Process, steps: int) -> list[int]:
    """The ``steps`` diffusion timesteps a sampler visits, from ``train_steps - 1`` down."""
    n = process.train_steps
    return [round(n - i * n / steps) - 1 for i in range(steps)]


def _x0_eps_coefficients(prediction: str, abar: float) -> tuple[float, float, float, float]:
    """(cx, co, ex, eo) with ``x_0 = cx x + co out`` and ``eps = ex x + eo out``."""
    a, s = math.sqrt(abar), math.sqrt(1.0 - abar)
    if prediction == "epsilon":
        return 1.0 / a, -s / a, 0.0, 1.0
    return a, -s, s, a  # v-prediction


#: The step graph's inputs after the network's own (``coef`` is ``Call.coefficients()``) and
#: its outputs after ``prediction``: the update of one call, computed inside the graph.
UPDATE_INPUTS = ("aux", "coef")
UPDATE_OUTPUTS = ("x_next", "carry")


@dataclass(frozen=True)
class Call:
    """One network call of a sampler and the update after it, linear in three arrays.

    With ``out`` the prediction at ``(x, t)`` and ``aux`` step ``noise``'s noise (when
    ``noise`` is set) or else the carried array: ``x <- a x + b out + c aux`` and
    ``carry <- d x + e out`` (the old ``x``). Every sampler here is a list of such calls,
    so the same list runs in numpy, in torch, or inside the exported step graph.
    """

    t: float
    a: float
    b: float
    c: float = 0.0
    d: float = 0.0
    e: float = 0.0
    noise: int | None = None

    def coefficients(self) -> tuple[float, float, float, float, float]:
        """``(a, b, c, d, e)``, the order of the step graph's ``coef`` input."""
        return self.a, self.b, self.c, self.d, self.e


def combine(x: Any, out: Any, aux: Any, a: Any, b: Any, c: Any) -> Any:
    """``x a + out b + aux c`` (the one expression of a sampler update; ``aux`` may be None if c is 0)."""
    y = x * a + out * b
    return y if aux is None else y + aux * c


class Plan:
    """A sampler as its list of calls (``plan()``) and the loop that runs them (``run``)."""

    def plan(self) -> list[Call]:
        """The network calls, in order."""
        raise NotImplementedError

    def run(self, x: Any, predict: Predict, draw: Draw) -> Any:
        """Run the calls from ``x`` (pure noise); ``draw(j)`` gives step ``j``'s noise."""
        return run_calls(self.plan(), x, predict, draw)


def run_calls(calls: list[Call], x: Any, predict: Predict, draw: Draw) -> Any:
    """Run ``calls`` (a sampler's plan) from ``x``; ``draw(j)`` gives step ``j``'s noise."""
    carry = None
    for call in calls:
        out = predict(x, call.t)
        aux = draw(call.noise) if call.noise is not None else carry if call.c else None
        x, carry = (combine(x, out, aux, call.a, call.b, call.c),
                    combine(x, out, None, call.d, call.e, 0.0) if call.d or call.e else None)
    return x


class DiffusionSampler(Plan):
    """Shared set-up of the diffusion samplers: the visited timesteps and their ``abar``."""

    def __init__(self, process: Process, steps: int, eta: float = 0.0) -> None:
        self.process = process
        self.eta = float(eta)
        table = alphas_cumprod(process)
        self.ts = timesteps(process, steps)
        self.abar = [table[t] for t in self.ts] + [1.0]  # the step after the last reaches data

    def x0_eps(self, i: int) -> tuple[float, float, float, float]:
        """At step ``i``: (cx, co, ex, eo) with ``x_0 = cx x + co out`` and ``eps = ex x + eo out``."""
        return _x0_eps_coefficients(self.process.prediction, self.abar[i])


class DDPM(DiffusionSampler):
    """Ancestral sampling (Ho et al.), respaced to ``steps``: fresh noise at every step but the last."""

    def plan(self) -> list[Call]:
        """The posterior mean ``c0 x_0 + c1 x_t`` plus noise of the posterior variance."""
        calls = []
        for i, t in enumerate(self.ts):
            a_t, a_p = self.abar[i], self.abar[i + 1]
            alpha = a_t / a_p
            beta = 1.0 - alpha
            c0 = math.sqrt(a_p) * beta / (1.0 - a_t)
            c1 = math.sqrt(alpha) * (1.0 - a_p) / (1.0 - a_t)
            cx, co, _, _ = self.x0_eps(i)
            var = beta * (1.0 - a_p) / (1.0 - a_t)
            calls.append(Call(float(t), c0 * cx + c1, c0 * co, math.sqrt(var) if var > 0.0 else 0.0,
                              noise=i if var > 0.0 else None))
        return calls


class DDIM(DiffusionSampler):
    """DDIM (Song et al.): deterministic at ``eta = 0``, noise scaled by ``eta`` otherwise."""

    def plan(self) -> list[Call]:
        """``sqrt(a_prev) x_0 + k eps`` (+ ``sigma`` noise), with x_0 and eps linear in (x, out)."""
        calls = []
        for i, t in enumerate(self.ts):
            a_t, a_p = self.abar[i], self.abar[i + 1]
            sigma = self.eta * math.sqrt((1.0 - a_p) / (1.0 - a_t) * (1.0 - a_t / a_p))
            a, k = math.sqrt(a_p), math.sqrt(max(1.0 - a_p - sigma * sigma, 0.0))
            cx, co, ex, eo = self.x0_eps(i)
            calls.append(Call(float(t), a * cx + k * ex, a * co + k * eo, sigma,
                              noise=i if sigma > 0.0 else None))
        return calls


class DPMSolverPP2M(DiffusionSampler):
    """DPM-Solver++(2M) (Lu et al.): second-order multistep on the data prediction, deterministic."""

    def plan(self) -> list[Call]:
        """Each call carries its data prediction to the next; the last lands on it (first order)."""
        calls: list[Call] = []
        h_prev = 0.0
        for i, t in enumerate(self.ts):
            a_t, a_p = self.abar[i], self.abar[i + 1]
            cx, co, _, _ = self.x0_eps(i)
            if a_p >= 1.0:
                calls.append(Call(float(t), cx, co))
                break
            h = 0.5 * math.log(a_p / (1.0 - a_p)) - 0.5 * math.log(a_t / (1.0 - a_t))
            # x' = s x + g d with d = p x_0 + q x_0(previous); x_0 = cx x + co out
            p, q = (1.0, 0.0) if i == 0 else (1.0 + 0.5 * h / h_prev, -0.5 * h / h_prev)
            s, g = math.sqrt((1.0 - a_p) / (1.0 - a_t)), -math.sqrt(a_p) * math.expm1(-h)
            calls.append(Call(float(t), s + g * p * cx, g * p * co, g * q, cx, co))
            h_prev = h
        return calls


class FlowSampler(Plan):
    """Shared set-up of the flow-matching samplers: ``steps + 1`` equally spaced times from 1 to 0."""

    def __init__(self, process: Process, steps: int, eta: float = 0.0) -> None:
        self.process = process
        self.sigmas = [1.0 - i / steps for i in range(steps + 1)]


class Euler(FlowSampler):
    """Euler's method on the velocity field."""

    def plan(self) -> list[Call]:
        """One call per step: ``x + (s_next - s) v``."""
        return [Call(s, 1.0, s_next - s) for s, s_next in zip(self.sigmas[:-1], self.sigmas[1:], strict=True)]


class Heun(FlowSampler):
    """Heun's method (Euler, then the trapezoid correction; the last step stays Euler)."""

    def plan(self) -> list[Call]:
        """Per step an Euler guess carrying ``v``, then ``guess + dt/2 (v' - v)``; the last is Euler."""
        calls = []
        for s, s_next in zip(self.sigmas[:-1], self.sigmas[1:], strict=True):
            dt = s_next - s
            if s_next <= 0.0:
                calls.append(Call(s, 1.0, dt))
            else:
                calls += [Call(s, 1.0, dt, e=1.0), Call(s_next, 1.0, 0.5 * dt, -0.5 * dt)]
        return calls


CLASSES: dict[str, Callable[[Process, int, float], Plan]] = {
    "ddpm": DDPM, "ddim": DDIM, "dpmpp_2m": DPMSolverPP2M, "euler": Euler, "heun": Heun}


def make(process: Process, settings: Settings) -> Plan:
    """The sampler for ``settings`` (checked against ``process``)."""
    settings.check(process)
    return CLASSES[settings.sampler](process, settings.steps, settings.eta)
