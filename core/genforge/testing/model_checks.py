"""Checks on the model itself: config, building, sampling, one training step, labels, export graph."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import torch

from genforge.capabilities import SupportsLikelihood
from genforge.config import resolve
from genforge.errors import GenforgeError
from genforge.testing.plugin_checks import check_config_json
from genforge.testing.results import ConformanceError, ConformanceWarning
from genforge.testing.subject import Subject
from genforge.weights import shared_memory

if TYPE_CHECKING:
    from genforge.data.info import DataInfo
    from genforge.model import GenerativeModel
#: Groups of keys sharing memory that a warning names.
SHOWN_GROUPS = 3
#: What to do when sampling is random beyond the request's seed (one-shot and iterative alike).
RANDOMNESS_FIX = ("Fix: draw all sampling randomness from what sample() hands generate: the latents z "
                  "and, in a sampling loop, the per-step noise from the noise argument "
                  "(generate(z, labels, *, noise, options); noise.next() or noise.draw(step), or "
                  "genforge.iterate, which draws it), never from torch's global RNG (torch.randn, "
                  "randn_like)")


def seeded(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def quiet_rng(seed: int = 0) -> Iterator[None]:
    """Run with torch's global RNG seeded, restoring the caller's RNG afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute difference of two same-shaped tensors (as float64)."""
    return float((a.detach().double().cpu() - b.detach().double().cpu()).abs().max())


def check_config_round_trips(subject: Subject) -> None:
    """The config class builds from defaults and round-trips through JSON and a run config."""
    check_config_json(subject.entry.config_cls, subject.config(), "model")
    try:
        resolved = resolve({"model": {"name": subject.name, **subject.tiny()}}, subject.plugins)
        reread = resolve(resolved.to_dict(), subject.plugins)
    except GenforgeError as e:
        raise ConformanceError(f"a run config with model {subject.name!r} does not resolve: {e}. "
                               "Fix: make the registered defaults name installed data sources "
                               "and valid trainer options") from None
    if reread.model != resolved.model:
        raise ConformanceError(f"the model section changes when a checkpoint's config.json is "
                               f"read back: {resolved.model!r} -> {reread.model!r}. Fix: use "
                               "JSON-compatible field types")


def check_builds(subject: Subject, kind: str) -> None:
    """A model builds from the tiny config for this kind of data, as registered."""
    model = subject.build(kind)
    name = type(model).__name__
    if bool(model.conditional) != subject.conditional:
        raise ConformanceError(f"registered conditional={subject.conditional} but {name}."
                               f"conditional is {model.conditional}. Fix: make them agree")
    if not isinstance(model.latent_dim, int) or model.latent_dim <= 0:
        raise ConformanceError(f"{name}.latent_dim is {model.latent_dim!r}. Fix: set it to the "
                               "size of the standard-normal input z (a positive int)")
    if not any(p.requires_grad for p in model.parameters()):
        raise ConformanceError(f"{name} has no trainable parameters. Fix: build the networks "
                               "in __init__ from the config and data_info")
    try:
        json.dumps(model.describe())
    except TypeError as e:
        raise ConformanceError(f"{name}.describe() is not JSON-ready: {e}. Fix: return plain "
                               "numbers, strings, lists and dicts") from None


def check_weights_stored_once(subject: Subject, kind: str) -> None:
    """Warns (``ConformanceWarning``) when the state dict holds one tensor's memory under several keys."""
    model = subject.build(kind)
    groups = shared_memory(model.state_dict())
    if groups:
        shown = "; ".join(" = ".join(keys) for keys in groups[:SHOWN_GROUPS])
        more = f" (+{len(groups) - SHOWN_GROUPS} more)" if len(groups) > SHOWN_GROUPS else ""
        warnings.warn(ConformanceWarning(
            f"{type(model).__name__}.state_dict() holds the same memory under several keys: {shown}{more}; "
            "checkpoints store it once, but every key loads it. Fix: unless the weights are tied on "
            "purpose, register each network once as a child module and keep a second reference "
            "out of the module tree (pass it as an argument, or look it up when needed)"), stacklevel=2)


def check_sample_shape(subject: Subject, kind: str) -> None:
    """``sample(n)`` returns float32 ``[n, *shape]``, finite, in the data's value range."""
    model = subject.build(kind)
    info = subject.data(kind).info
    model.train()
    with quiet_rng():
        x = model.sample(5, generator=seeded(0))
    want = (5, *info.shape)
    if not isinstance(x, torch.Tensor):
        raise ConformanceError(f"sample(5) returned {type(x).__name__}; expected a torch.Tensor")
    if tuple(x.shape) != want:
        raise ConformanceError(f"wrong sample shape: sample(5) returned shape {tuple(x.shape)} for "
                               f"{kind} data of shape {tuple(info.shape)}; expected {want}. Fix: "
                               "generate(z, labels) must return [n, *data_info.shape]")
    if x.dtype != torch.float32:
        raise ConformanceError(f"sample(5) returned dtype {x.dtype}; expected torch.float32. "
                               "Fix: return float32 samples")
    if not bool(torch.isfinite(x).all()):
        raise ConformanceError("sample(5) returned NaN or infinite values. Fix: keep generate "
                               "numerically safe (bounded outputs, clamped exps and logs)")
    if info.value_range is not None:
        lo, hi = info.value_range
        if float(x.min()) < lo or float(x.max()) > hi:
            raise ConformanceError(
                f"samples span [{float(x.min()):.4g}, {float(x.max()):.4g}], outside the data's "
                f"value range [{lo}, {hi}]. Fix: map the output into the range (e.g. sigmoid, or "
                "(tanh + 1) / 2, then clamp)")
    if not model.training:
        raise ConformanceError("sample() left the model in eval mode. Fix: restore the training "
                               "flag afterwards (the base class's sample does)")


def check_sample_is_deterministic(subject: Subject, kind: str) -> None:
    """The same generator seed gives the same samples; another seed gives others."""
    model = subject.build(kind)
    with quiet_rng(1):
        a = model.sample(6, generator=seeded(123))
    with quiet_rng(2):
        b = model.sample(6, generator=seeded(123))
        c = model.sample(6, generator=seeded(124))
    if a.shape != b.shape or not torch.equal(a, b):
        diff = max_diff(a, b) if a.shape == b.shape else float("nan")
        raise ConformanceError(
            f"nondeterministic sampling: sample(6, generator=seed 123) gave different samples on "
            f"two calls (max |diff| {diff:.3g}) when only torch's global RNG changed in between. "
            f"{RANDOMNESS_FIX}")
    if torch.equal(a, c):
        raise ConformanceError("samples do not depend on the generator: seeds 123 and 124 gave "
                               "identical samples. Fix: generate must map the latent z to samples")


def _optimised(optimizers: dict[str, torch.optim.Optimizer]) -> set[int]:
    return {id(p) for opt in optimizers.values() for g in opt.param_groups for p in g["params"]}


def check_train_step(subject: Subject, kind: str) -> None:
    """One ``train_step`` returns finite losses and gives finite gradients to every trainable parameter."""
    model = subject.build(kind).train()
    optimizers = model.configure_optimizers()
    if not isinstance(optimizers, dict) or not optimizers or not all(
            isinstance(o, torch.optim.Optimizer) for o in optimizers.values()):
        raise ConformanceError(f"configure_optimizers() returned {optimizers!r}. Fix: return a "
                               "non-empty dict of named torch.optim.Optimizer objects")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    idle = [n for n, p in named if id(p) not in _optimised(optimizers)]
    if idle:
        raise ConformanceError(f"parameters {idle[:5]} are in no optimizer, so they never learn. "
                               "Fix: add them to an optimizer or set requires_grad=False")
    grads: dict[str, bool] = {}

    def note(name: str) -> Callable[[torch.Tensor], None]:
        def hook(p: torch.Tensor) -> None:
            finite = p.grad is not None and bool(torch.isfinite(p.grad).all())
            grads[name] = grads.get(name, True) and finite
        return hook

    handles = [p.register_post_accumulate_grad_hook(note(n)) for n, p in named]
    try:
        with quiet_rng():
            metrics = model.train_step(subject.batch(kind), optimizers)
    finally:
        for h in handles:
            h.remove()
    if not isinstance(metrics, dict) or not metrics:
        raise ConformanceError(f"train_step returned {metrics!r}. Fix: return a dict of named losses")
    bad = {k: v for k, v in metrics.items() if not _finite_number(v)}
    if bad:
        raise ConformanceError(f"train_step returned non-finite or non-scalar metrics {bad}. Fix: "
                               "return finite losses as floats or 0-dim tensors")
    missing = [n for n, _ in named if n not in grads]
    if missing:
        raise ConformanceError(f"parameters {missing[:5]} got no gradient in train_step. Fix: use "
                               "them in the loss, or set requires_grad=False if they must not learn")
    nonfinite = [n for n, ok in grads.items() if not ok]
    if nonfinite:
        raise ConformanceError(f"non-finite gradients on {nonfinite[:5]} after one train_step. Fix: "
                               "stabilise the loss (clamp exps and logs, check for division by 0)")
    broken = [n for n, p in named if not bool(torch.isfinite(p).all())]
    if broken:
        raise ConformanceError(f"parameters {broken[:5]} are not finite after one train_step. Fix: "
                               "stabilise the loss or lower the default learning rate")


def _finite_number(v: float | torch.Tensor) -> bool:
    try:
        f = float(v)
    except (TypeError, ValueError, RuntimeError):
        return False
    return f == f and abs(f) != float("inf")


def _expect_value_error(model: GenerativeModel, labels: torch.Tensor | list[int] | int, what: str) -> None:
    try:
        model.sample(4, labels=labels, generator=seeded(0))
    except ValueError:
        return
    except Exception as e:
        raise ConformanceError(f"sample(4, labels={labels!r}) raised {type(e).__name__}; expected "
                               f"ValueError ({what})") from None
    raise ConformanceError(f"sample(4, labels={labels!r}) was accepted ({what}). Fix: validate "
                           "labels with self.check_labels(labels, n), as the base class's sample does")


def check_labels(subject: Subject, kind: str) -> None:
    """Conditional models honour labels and reject out-of-range ones; others reject labels."""
    model = subject.build(kind)
    k = subject.data(kind).info.num_classes
    if not model.conditional:
        _expect_value_error(model, 0, "the model is not conditional")
        return
    a = model.sample(4, labels=0, generator=seeded(5))
    b = model.sample(4, labels=1, generator=seeded(5))
    if torch.equal(a, b):
        raise ConformanceError("labels are ignored: sample(4, labels=0) and sample(4, labels=1) "
                               "with the same seed are identical. Fix: condition generate on labels")
    mixed = model.sample(3, labels=[0, 1, 2], generator=seeded(5))
    if mixed.shape[0] != 3:
        raise ConformanceError(f"sample(3, labels=[0, 1, 2]) returned {mixed.shape[0]} samples. "
                               "Fix: return one sample per label")
    _expect_value_error(model, [k] * 4, f"label {k} with {k} classes")
    _expect_value_error(model, [-1] * 4, "a negative label")
    _expect_value_error(model, [0, 1], "2 labels for 4 samples")


def check_export_module(subject: Subject, kind: str) -> None:
    """``export_module()`` is the pure sampling graph: z (+ int64 labels) in, samples out."""
    model = subject.build(kind).eval()
    info = subject.data(kind).info
    try:
        module, inputs, in_names, out_names = model.export_module()
    except NotImplementedError:
        raise ConformanceError("export_module() is not implemented. Fix: return (module, example "
                               "inputs, ['z'] (+ 'labels'), ['samples'])") from None
    if model.sampling_process() is not None:
        _check_step_module(model, info, module, inputs, list(in_names), list(out_names))
        return
    want_in = ["z", "labels"] if model.conditional else ["z"]
    if list(in_names) != want_in or list(out_names) != ["samples"]:
        raise ConformanceError(f"export_module() names inputs {list(in_names)} and outputs "
                               f"{list(out_names)}; the genforge contract is {want_in} -> ['samples']")
    z = inputs[0]
    if z.dtype != torch.float32 or tuple(z.shape[1:]) != (model.latent_dim,):
        raise ConformanceError(f"example z is {z.dtype} {tuple(z.shape)}; expected float32 "
                               f"[N, {model.latent_dim}]. Fix: torch.randn(2, self.latent_dim)")
    if model.conditional and inputs[1].dtype != torch.int64:
        raise ConformanceError(f"example labels are {inputs[1].dtype}; expected torch.int64. "
                               "Fix: build them with torch.arange(n) % num_classes")
    with torch.no_grad():
        out, again, ref = module(*inputs), module(*inputs), model.generate(*inputs)
        n = 3
        extra = (torch.arange(n) % max(info.num_classes, 1),) if model.conditional else ()
        other = module(torch.randn(n, model.latent_dim, generator=seeded(0)), *extra)
    if tuple(out.shape) != (z.shape[0], *info.shape) or tuple(other.shape) != (n, *info.shape):
        raise ConformanceError(f"the export graph returns {tuple(out.shape)} for {z.shape[0]} "
                               f"latents; expected [N, *{tuple(info.shape)}] for any batch size N. "
                               "Fix: reshape with -1 for the batch axis, never a fixed size")
    if not torch.equal(out, again):
        raise ConformanceError("the export graph is random (two calls differ). Fix: keep "
                               "randomness outside the graph; z is its input")
    if out.shape != ref.shape or max_diff(out, ref) > 1e-5:
        raise ConformanceError("the export graph disagrees with generate(z, labels). Fix: make "
                               "export_module() return the module generate() runs")


def _check_step_module(model: GenerativeModel, info: DataInfo, module: torch.nn.Module,
                       inputs: Sequence[torch.Tensor], in_names: list[str], out_names: list[str]) -> None:
    """An iterative family's export graph: the one-step network ``x, t [, labels] -> prediction``."""
    want_in = ["x", "t", "labels"] if model.conditional else ["x", "t"]
    if in_names != want_in or out_names != ["prediction"]:
        raise ConformanceError(f"export_module() names inputs {in_names} and outputs {out_names}; an "
                               f"iterative model (sampling_process() is set) exports its one-step "
                               f"network: {want_in} -> ['prediction']")
    x, t = inputs[0], inputs[1]
    if x.dtype != torch.float32 or tuple(x.shape[1:]) != tuple(info.shape) or t.dtype != torch.float32 \
            or tuple(t.shape) != (x.shape[0],):
        raise ConformanceError(f"example x is {x.dtype} {tuple(x.shape)} and t {t.dtype} "
                               f"{tuple(t.shape)}; expected float32 [N, *{tuple(info.shape)}] and "
                               "float32 [N]")
    with torch.no_grad():
        out, again = module(*inputs), module(*inputs)
    if tuple(out.shape) != tuple(x.shape):
        raise ConformanceError(f"the step network returns {tuple(out.shape)} for x of shape "
                               f"{tuple(x.shape)}. Fix: predict one value per element of x")
    if not torch.equal(out, again):
        raise ConformanceError("the step network is random (two calls differ). Fix: keep "
                               f"randomness out of it. {RANDOMNESS_FIX}")


def check_log_likelihood(subject: Subject, kind: str) -> None:
    """``log_likelihood(x, labels, k=, generator=)`` gives finite per-example values, seeded."""
    model = subject.build(kind)
    assert isinstance(model, SupportsLikelihood)  # the check is listed only for such models
    test = subject.tensors(kind, "test")
    x = test.x[:6]
    labels = test.y[:6] if model.conditional and test.y is not None else None
    out = model.log_likelihood(x, labels, k=2, generator=seeded(0))
    again = model.log_likelihood(x, labels, k=2, generator=seeded(0))
    if not isinstance(out, dict) or not out:
        raise ConformanceError(f"log_likelihood returned {type(out).__name__}; expected a dict "
                               "such as {'exact': tensor [N]} of per-example values in nats")
    for key, value in out.items():
        t = torch.as_tensor(value)
        if tuple(t.shape) != (6,):
            raise ConformanceError(f"log_likelihood()[{key!r}] has shape {tuple(t.shape)} for 6 "
                                   "examples; expected [6]. Fix: return one value per example")
        if not bool(torch.isfinite(t).all()):
            raise ConformanceError(f"log_likelihood()[{key!r}] is not finite. Fix: compute it in "
                                   "log space (logsumexp), clamping logs of probabilities")
        if not torch.equal(t, torch.as_tensor(again[key])):
            raise ConformanceError(f"log_likelihood()[{key!r}] differs for the same generator "
                                   "seed. Fix: draw its noise from the generator argument")
