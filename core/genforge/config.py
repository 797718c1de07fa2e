"""Run configs: TOML or dict in, validated pydantic objects out.

A run config has top-level ``seed`` and ``out`` and up to five sections: ``[model]``
and ``[data]`` (``name`` plus the options of the plugin that registered the name,
validated against that plugin's config class), ``[trainer]``, ``[sampler]`` (the
sample-time options the model family registered, if any) and ``[card]`` (what the
model card says: the license, the Hub datasets).
"""

from __future__ import annotations

import copy
import math
import sys
import types
import typing
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from genforge.entries import ModelEntry
from genforge.errors import ConfigError, shown
from genforge.files import regular_file
from genforge.hub import check_dataset_id, check_license
from genforge.plugins import Plugins, split_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_DATA = "digits"
#: The largest seed: what torch, numpy and Python all accept.
MAX_SEED = 2**63 - 1
#: The integers a config holds: what torch and numpy hold (int64).
INT_RANGE = (-(2**63), 2**63 - 1)
INT_RANGE_TEXT = "an integer from -2**63 to 2**63-1"


class TrainerConfig(BaseModel):
    """Options of the generic trainer (the ``[trainer]`` section)."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(1000, gt=0, description="optimisation steps to run in total")
    batch_size: int = Field(64, gt=0, description="samples per step (under DDP: the global batch, "
                            "split evenly across processes)")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$",
                        description="auto, cpu, cuda or cuda:N")
    log_every: int = Field(10, gt=0, description="steps between metrics.jsonl lines")
    sample_every: int = Field(500, ge=0, description="steps between sample grids (0: only at end)")
    checkpoint_every: int = Field(1000, ge=0, description="steps between checkpoints (0: only at end)")
    keep_checkpoints: int = Field(3, gt=0, description="how many step folders to keep")
    grid_samples: int = Field(64, gt=0, description="samples in a grid (conditional: per class x 10)")
    progress: bool = Field(True, description="show a progress bar")
    eval_every: int = Field(0, ge=0, description="steps between evaluations logged to metrics.jsonl "
                            "(0: off); also at the last step")
    eval_metrics: list[str] = Field(default_factory=list, description="metrics to run when evaluating "
                                    "(empty: every metric that applies)")
    eval_n: int = Field(1000, gt=5, description="generated samples per evaluation")
    eval_extractor: str = Field("", description="feature extractor file for evaluation (empty: the "
                                "one registered for the data source)")
    precision: Literal["32", "bf16", "16-mixed"] = Field(
        "32", description="32: float32; bf16: bfloat16 autocast; 16-mixed: float16 autocast with "
        "gradient scaling (CUDA)")
    channels_last: bool = Field(False, description="channels-last memory format for conv models")
    compile: bool = Field(False, description="torch.compile the model's networks")
    ema_decay: float = Field(0.0, ge=0.0, lt=1.0,
                             description="decay of an exponential moving average of the weights "
                             "(0: off); sampling and export then use the averaged weights")
    lr_decay: Literal["none", "linear", "cosine"] = Field(
        "none", description="learning-rate schedule of every optimizer over the run: constant, or "
        "decayed from the family's rate to 0 linearly or along a half cosine")
    sync_batchnorm: bool = Field(False, description="under DDP: synchronise BatchNorm statistics "
                                 "across processes")
    threads: int = Field(0, ge=0, description="torch CPU threads while training (0: tuned while training, "
                         "from one up to the CPUs the process may use)")
    workers: int = Field(1, ge=0, le=64, description="DataLoader worker processes reading a streamed data "
                         "source (shards) beside training (0: read in the training process); in-memory "
                         "sources ignore it")
    loggers: list[Literal["tensorboard"]] = Field(
        default_factory=list, description="loggers besides metrics.jsonl (always written): tensorboard "
        "writes RUN/tensorboard/ (needs genforge[tensorboard])")


class CardConfig(BaseModel):
    """What the model card (``RUN/README.md``) says beyond the run: the ``[card]`` section."""

    model_config = ConfigDict(extra="forbid")

    license: str = Field("unknown", description="license of the trained weights, a Hub license id "
                         "(apache-2.0, mit, cc-by-4.0, ...); unknown until you choose one")
    license_name: str = Field("", description="with license = other: the license's name")
    license_link: str = Field("", description="with license = other: where its text is (a URL)")
    datasets: list[str] = Field(default_factory=list, description="Hub dataset ids the model was "
                                "trained on (empty: the data source's own, if it has one)")

    @field_validator("license")
    @classmethod
    def _hub_license(cls, value: str) -> str:
        return check_license(value)

    @field_validator("datasets")
    @classmethod
    def _hub_datasets(cls, value: list[str]) -> list[str]:
        return [check_dataset_id(v) for v in value]

    @model_validator(mode="after")
    def _named_when_other(self) -> CardConfig:
        if self.license == "other" and not self.license_name:
            raise ValueError("license = other needs license_name (and license_link)")
        if self.license != "other" and (self.license_name or self.license_link):
            raise ValueError("license_name and license_link go with license = other only")
        return self


class Section(BaseModel):
    """A ``[model]`` or ``[data]`` section: the plugin's name plus its options."""

    model_config = ConfigDict(extra="allow")

    name: str

    def options(self) -> dict[str, object]:
        """The section's options without ``name``."""
        return dict(self.model_extra or {})


class RunConfig(BaseModel):
    """A whole run: what to train, on what, how, and where to write it."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, ge=0, le=MAX_SEED)
    out: str = ""
    model: Section
    data: Section = Field(default_factory=lambda: Section(name=DEFAULT_DATA))
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    sampler: dict[str, object] = Field(default_factory=dict)
    card: CardConfig = Field(default_factory=CardConfig)


@dataclass
class ResolvedConfig:
    """A run config whose model, data and sampler sections passed their plugins' classes.

    ``run.model.name`` stays as written (``NAME`` or ``DIST:NAME``); ``model_entry`` is the
    family it selected, and ``model_entry.name`` the plain name.
    """

    run: RunConfig
    model: BaseModel
    data: BaseModel
    model_entry: ModelEntry
    #: the sample-time options (``None`` for a model that registered none)
    sampler: BaseModel | None = None

    def to_dict(self) -> dict[str, object]:
        """The full config as JSON-ready data (defaults filled in)."""
        d = self.run.model_dump(mode="json", exclude={"model", "data"})
        d["model"] = {"name": self.run.model.name, **self.model.model_dump(mode="json")}
        d["data"] = {"name": self.run.data.name, **self.data.model_dump(mode="json")}
        d.pop("sampler")
        if self.sampler is not None:
            d["sampler"] = self.sampler.model_dump(mode="json")
        return d


def _describe_error(err: ValidationError, prefix: str = "") -> str:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "")
    if e["type"] == "missing":
        return f"{loc}: missing; a value is required"
    if e["type"] == "extra_forbidden":
        return f"{loc}: unknown key"
    value = e.get("input")
    msg = e["msg"].removeprefix("Value error, ")
    return f"{loc} = {shown(value)}: {msg[0].lower()}{msg[1:]}"


def parse_value(text: str, name: str = "value") -> object:
    """Parse a ``--set`` value of ``name`` as a TOML value (``3``, ``true``, ``[1, 2]``), else a string.

    A value holding a line break or another control character is refused: TOML would read
    only its first line. So are an integer longer than Python converts (4300 digits) and
    lists or tables nested deeper than Python's recursion limit.
    """
    bad = next((ch for ch in text if ch != "\t" and unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        raise ConfigError(f"{name} = {shown(text)}: contains the control character {bad!r}; give one line")
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except ValueError:  # int() refused the digits
        raise ConfigError(f"{name} = {shown(text)}: an integer longer than Python reads; expected "
                          f"{INT_RANGE_TEXT}") from None
    except RecursionError:
        raise ConfigError(f"{name} = {shown(text)}: nested too deeply") from None


def apply_override(raw: dict[str, object], assignment: str) -> None:
    """Apply one ``section.key=value`` override to a raw config dict in place."""
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {shown(assignment)}: expected section.key=value")
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {shown(assignment)}: {shown(part)} is not a section")
        node = child
    node[parts[-1]] = parse_value(value.strip(), key.strip())


def read_toml(path: str | Path, what: str = "config file") -> dict[str, object]:
    """Read a TOML file (a config, a catalogue), with one-line errors for a missing or malformed one."""
    p = regular_file(path, what, ConfigError)
    try:
        with p.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except ValueError:  # int() refused the digits
        raise ConfigError(f"{p}: holds an integer longer than Python reads; expected {INT_RANGE_TEXT}") \
            from None
    except RecursionError:
        raise ConfigError(f"{p}: nested too deeply") from None


def _number_kinds(annotation: object) -> set[type]:
    """The numeric types (int, float) a field annotation accepts, and bool when it does."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)
    return {a for a in args if a in (int, float, bool)}


def check_numbers(cls: type[BaseModel], options: object, where: str) -> None:
    """Refuse what pydantic would coerce: a boolean for a number field, and any NaN or infinity.

    ``true`` for ``trainer.steps`` would otherwise train 1 step, and ``inf`` passes ``gt=0``.
    """
    if not isinstance(options, dict):
        return
    for key, value in options.items():
        name = f"{where}.{key}" if where else str(key)
        field = cls.model_fields.get(key) if isinstance(key, str) else None
        annotation = field.annotation if field is not None else None
        if isinstance(value, bool) and annotation is not None:
            kinds = _number_kinds(annotation)
            if kinds and bool not in kinds:
                raise ConfigError(f"{name} = {str(value).lower()}: expected a number, not a boolean")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, dict):
            check_numbers(annotation, value, name)
        else:
            _check_finite(value, name)


def _check_finite(value: object, name: str) -> None:
    """Refuse NaN, infinities and integers beyond int64, also inside lists and tables."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} = {value!r}: expected a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        raise ConfigError(f"{name} = {shown(value)}: expected {INT_RANGE_TEXT}")
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_finite(item, name)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{name}.{key}")


def _section(raw: dict[str, object], key: str) -> dict[str, object]:
    """``raw[key]`` as a dict (created when missing); ``ConfigError`` when it is a value, not a section."""
    section = raw.setdefault(key, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{key} = {shown(section)}: expected a [{key}] section, not a value")
    return section


def merge_under(base: dict[str, object], top: dict[str, object]) -> dict[str, object]:
    """Deep-merge ``top`` over ``base`` (``top`` wins), returning a new dict."""
    out = copy.deepcopy(base)
    for k, v in top.items():
        old = out.get(k)
        out[k] = merge_under(old, v) if isinstance(v, dict) and isinstance(old, dict) else v
    return out


def validate_section(
    cls: type[BaseModel], options: dict[str, object], where: str, strict: bool = True
) -> BaseModel:
    """Validate a plugin section; unknown keys are errors (``strict``) or warnings."""
    fields = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
    check_numbers(cls, options, where)
    unknown = sorted(set(options) - fields)
    if unknown:
        msg = f"{where}.{unknown[0]}: unknown key; known keys: {', '.join(sorted(fields)) or 'none'}"
        if strict:
            raise ConfigError(msg)
        warnings.warn(f"{msg} (ignored)", stacklevel=2)
        options = {k: v for k, v in options.items() if k in fields}
    try:
        return cls.model_validate(options)
    except ValidationError as e:
        raise ConfigError(_describe_error(e, where)) from None


def resolve(raw: dict[str, object] | RunConfig, plugins: Plugins, strict: bool = True,
            defaults: bool = True) -> ResolvedConfig:
    """Validate a raw config against the core schema and the named plugins' config classes.

    The model family's suggested ``defaults`` are filled in under the user's values, unless
    ``defaults=False``: a checkpoint's saved config is complete, and a key it lacks is newer
    than the checkpoint, so it takes the field's own default (the behaviour it was trained
    with), not what the family suggests today. ``strict=False`` (used when loading
    checkpoints) turns unknown keys into warnings.
    """
    raw = raw.model_dump() if isinstance(raw, RunConfig) else copy.deepcopy(raw)
    model_section = raw.get("model")
    if not isinstance(model_section, dict) or "name" not in model_section:
        names = ", ".join(plugins.names("models")) or "none installed"
        raise ConfigError(f"model.name: missing; choose one of: {names}")
    entry = plugins.get("models", str(model_section["name"]))
    if defaults:
        raw = merge_under(family_defaults(dict(entry.defaults), raw), raw)
    if not strict:
        known = set(RunConfig.model_fields)
        for key in sorted(set(raw) - known):
            warnings.warn(f"{key}: unknown top-level config key (ignored)", stacklevel=2)
            raw.pop(key)
        for name, cls in (("trainer", TrainerConfig), ("card", CardConfig)):
            section = raw.get(name)
            for key in sorted(set(section if isinstance(section, dict) else ()) - set(cls.model_fields)):
                warnings.warn(f"{name}.{key}: unknown key (ignored)", stacklevel=2)
                assert isinstance(section, dict)
                section.pop(key)
    check_numbers(RunConfig, raw, "")
    try:
        run = RunConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_describe_error(e)) from None
    model_cfg = validate_section(entry.config_cls, run.model.options(), "model", strict)
    data_entry = plugins.get("data_sources", run.data.name)
    data_cfg = validate_section(data_entry.config_cls, run.data.options(), "data", strict)
    sampler_cls = entry.sampler
    if sampler_cls is None and run.sampler:
        raise ConfigError(f"sampler.{next(iter(run.sampler))}: model {run.model.name!r} has no "
                          "sample-time options")
    sampler_cfg = validate_section(sampler_cls, run.sampler, "sampler", strict) if sampler_cls else None
    if not run.out:
        run.out = str(Path("runs") / f"{entry.name}-{split_name(run.data.name)[1]}")
    return ResolvedConfig(run=run, model=model_cfg, data=data_cfg, model_entry=entry, sampler=sampler_cfg)


def family_defaults(suggested: dict[str, object], raw: dict[str, object]) -> dict[str, object]:
    """The sections a family suggests for ``raw``: its defaults plus those for the chosen data source.

    The family's data section applies only while the user keeps its data source.
    """
    suggested = copy.deepcopy(suggested)
    per_data = _dict(suggested.pop("per_data", {}))  # {data source name: sections} for that source
    data_default = _dict(suggested.get("data"))
    user_data = _dict(raw.get("data"))
    if user_data.get("name", data_default.get("name", DEFAULT_DATA)) != data_default.get(
        "name", DEFAULT_DATA
    ):
        suggested.pop("data", None)
    chosen = user_data.get("name", data_default.get("name", DEFAULT_DATA))
    return merge_under(suggested, _dict(per_data.get(str(chosen))))


def _dict(value: object) -> dict[str, object]:
    """``value`` if it is a dict (a config section), else an empty one."""
    return value if isinstance(value, dict) else {}


def build_raw(
    config: str | Path | dict[str, object] | None = None,
    *,
    model: str | None = None,
    data: str | None = None,
    steps: int | None = None,
    out: str | None = None,
    device: Literal["auto", "cpu", "cuda"] | str | None = None,
    overrides: list[str] | None = None,
) -> dict[str, object]:
    """Combine a TOML file or dict with command-line style flags into one raw config."""
    raw: dict[str, object] = {}
    if isinstance(config, dict):
        raw = copy.deepcopy(config)
    elif config is not None:
        raw = read_toml(config)
    for key, value in (("model", model), ("data", data)):
        if value is not None:
            if _section(raw, key).get("name") not in (None, value):
                raw[key] = {}
            _section(raw, key)["name"] = value
    if steps is not None:
        _section(raw, "trainer")["steps"] = steps
    if device is not None:
        _section(raw, "trainer")["device"] = device
    if out is not None:
        raw["out"] = str(out)
    for assignment in overrides or []:
        apply_override(raw, assignment)
    return raw
