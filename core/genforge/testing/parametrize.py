"""``parametrize_with_checks``: one pytest test per (model, check)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from genforge.entries import Entry
from genforge.plugins import Plugins, default_plugins
from genforge.testing.checks import Check, checks_for, data_source_checks
from genforge.testing.results import NotApplicable
from genforge.testing.subject import DATA_KINDS, DataSubject, Registered, Subject

F = TypeVar("F", bound=Callable[..., Any])


class PytestCheck:
    """A check as a test parameter: a ``NotApplicable`` becomes a "not applicable" report."""

    def __init__(self, check: Check) -> None:
        self.check = check

    def __call__(self, model: Registered[Entry[object]]) -> None:
        """Run the check on ``model`` (the ``Subject`` or ``DataSubject`` parameter)."""
        from genforge.testing.pytest_plugin import not_applicable

        try:
            self.check(model)
        except NotApplicable as e:
            not_applicable(str(e))

    def __repr__(self) -> str:
        return self.check.id


def parametrize_with_checks(
    models: Sequence[str] = (),
    *,
    data_sources: Sequence[str] = (),
    tiny: dict[str, dict[str, object]] | None = None,
    data_options: dict[str, dict[str, object]] | None = None,
    plugins: Plugins | Callable[[], Plugins] | None = None,
    kinds: Sequence[str] = DATA_KINDS,
) -> Callable[[F], F]:
    """Decorate ``test(model, check)`` to run every applicable check on every named model and source.

    ``tiny`` maps a model name to config overrides applied over the ``tiny`` options the
    plugin registered; ``data_options`` maps a data source name to the ``[data]`` options
    to check it with; ``plugins`` defaults to the installed ones; ``kinds`` limits the
    data kinds models are checked on (``"image"``: 8x8 digits, ``"vector"``: 2-D toy points).
    The test's first parameter receives the subject, whatever its name.
    """
    import pytest

    found = plugins() if callable(plugins) and not isinstance(plugins, Plugins) else plugins
    found = found or default_plugins()
    params = []
    for name in models:
        subject = Subject(name, found, dict((tiny or {}).get(name, {})))
        params += [pytest.param(subject, PytestCheck(c), id=f"{name}-{c.id}")
                   for c in checks_for(subject, kinds)]
    for name in data_sources:
        source = DataSubject(name, found, dict((data_options or {}).get(name, {})))
        params += [pytest.param(source, PytestCheck(c), id=f"{name}-{c.id}") for c in data_source_checks()]

    from genforge.testing.pytest_plugin import marker_registered

    def decorate(fn: F) -> F:
        first = next(iter(inspect.signature(fn).parameters), "model")
        marked = pytest.mark.parametrize((first, "check"), params)(fn)
        # without the plugin (-p no:genforge) the marker would break --strict-markers
        return pytest.mark.genforge_conformance(marked) if marker_registered() else marked

    return decorate
