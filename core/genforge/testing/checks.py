"""The list of conformance checks and which of them apply to a model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from genforge.capabilities import SupportsLikelihood, supports
from genforge.entries import Entry
from genforge.testing import checkpoint_checks, data_checks, export_checks, model_checks, plugin_checks
from genforge.testing.results import ConformanceError
from genforge.testing.subject import DATA_KINDS, DataSubject, Registered, Subject


@dataclass(frozen=True)
class Check:
    """One check, bound to a kind of data when it runs per kind."""

    name: str
    fn: Callable[..., None]
    kind: str | None = None

    @property
    def id(self) -> str:
        """``name`` or ``name-kind``: the check's part of a test id."""
        return f"{self.name}-{self.kind}" if self.kind else self.name

    @property
    def summary(self) -> str:
        """The first line of the check function's docstring."""
        return (self.fn.__doc__ or "").strip().splitlines()[0]

    def __call__(self, subject: Registered[Entry[object]]) -> None:
        """Run the check; raises ``ConformanceError`` or ``NotApplicable``."""
        if self.kind is None:
            self.fn(subject)
        else:
            self.fn(subject, self.kind)

    def __repr__(self) -> str:
        return self.id


#: (name, function, scope): scope is "plugin" (once), "each" (every data kind) or "first"
#: (the first data kind: the checks that train or export once).
CHECKS: list[tuple[str, Callable[..., None], str]] = [
    ("plugin_loads", plugin_checks.check_plugin_loads, "plugin"),
    ("entry_module_is_light", plugin_checks.check_entry_module_is_light, "plugin"),
    ("names_are_unique", plugin_checks.check_names_are_unique, "plugin"),
    ("config_round_trips", model_checks.check_config_round_trips, "plugin"),
    ("builds", model_checks.check_builds, "each"),
    ("weights_stored_once", model_checks.check_weights_stored_once, "each"),
    ("sample_shape_dtype_range", model_checks.check_sample_shape, "each"),
    ("sample_is_deterministic", model_checks.check_sample_is_deterministic, "each"),
    ("train_step_is_finite", model_checks.check_train_step, "each"),
    ("labels", model_checks.check_labels, "first"),
    ("export_module", model_checks.check_export_module, "each"),
    ("log_likelihood", model_checks.check_log_likelihood, "each"),
    ("save_load_identical", checkpoint_checks.check_save_load, "first"),
    ("no_pickle", checkpoint_checks.check_no_pickle, "first"),
    ("resume_is_exact", checkpoint_checks.check_resume, "first"),
    ("sample_options_change_nothing_saved", checkpoint_checks.check_sample_options_change_nothing_saved,
     "first"),
    ("onnx_matches_pytorch", export_checks.check_onnx, "first"),
]


def _applies(name: str, subject: Subject) -> bool:
    if name != "log_likelihood":
        return True
    try:
        cls = subject.model_class()
    except ConformanceError:
        return True  # the check itself reports why the model cannot be loaded
    return supports(cls, SupportsLikelihood)


def checks_for(subject: Subject, kinds: Sequence[str] = DATA_KINDS) -> list[Check]:
    """The checks that apply to ``subject`` for the given data kinds (image and vector)."""
    unknown = sorted(set(kinds) - set(DATA_KINDS))
    if unknown or not kinds:
        raise ValueError(f"kinds: expected some of {DATA_KINDS}, got {list(kinds)}")
    out: list[Check] = []
    for name, fn, scope in CHECKS:
        if not _applies(name, subject):
            continue
        if scope == "plugin":
            out.append(Check(name, fn))
        else:
            out += [Check(name, fn, kind) for kind in (kinds if scope == "each" else kinds[:1])]
    return out


#: The checks of a data source, each run once.
DATA_CHECKS: list[tuple[str, Callable[[DataSubject], None]]] = [
    ("plugin_loads", plugin_checks.check_plugin_loads),
    ("entry_module_is_light", plugin_checks.check_entry_module_is_light),
    ("names_are_unique", plugin_checks.check_names_are_unique),
    ("config_round_trips", data_checks.check_data_config_round_trips),
    ("splits_match_info", data_checks.check_splits_match_info),
    ("same_seed_same_splits", data_checks.check_same_seed_same_splits),
    ("held_out_is_disjoint", data_checks.check_held_out_is_disjoint),
]


def data_source_checks() -> list[Check]:
    """The checks of a data source."""
    return [Check(name, fn) for name, fn in DATA_CHECKS]
