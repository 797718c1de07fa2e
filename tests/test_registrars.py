"""The registrars: each documented call works, each misuse fails at load in one line naming the fix."""

from __future__ import annotations

import pytest

from genforge.errors import PluginError

HEAD = """
from genforge import hookimpl
from pydantic import BaseModel

class Cfg(BaseModel):
    n: int = 1

class Exporter:
    def export(self, loaded, path, options):
        return path
"""


def hook(kind: str, call: str) -> str:
    """A plugin module whose ``genforge_register_<kind>`` hook makes one call."""
    return HEAD + f"\n@hookimpl\ndef genforge_register_{kind}(register):\n    {call}\n"


def error_of(plugins, dist: str) -> str:
    plugins.registries  # noqa: B018 - the registration hooks run when the registries are first used
    return next(r for r in plugins.records if r.dist == dist).error or ""


@pytest.mark.parametrize(("kind", "call", "registry", "name"), [
    ("exporters", 'register("null", Exporter(), "writes nothing")', "exporters", "null"),
    ("metrics", 'register("one", lambda ctx: {"one": 1.0}, "a constant")', "metrics", "one"),
    ("feature_extractors", 'register("digits2", "pkg:extractor", "the digits network")',
     "feature_extractors", "digits2"),
    ("data_sources", 'register("src", "pkg:load", Cfg, "some data")', "data_sources", "src"),
])
def test_summary_passed_by_position_is_the_summary(fake_plugins, kind, call, registry, name):
    plugins = fake_plugins({"documented": hook(kind, call)})
    entry = plugins.get(registry, name)
    assert error_of(plugins, "documented") == ""
    assert entry.summary in {"writes nothing", "a constant", "the digits network", "some data"}
    assert "config_cls" not in entry.options


def test_model_entry_is_a_typed_record(fake_plugins):
    call = ('register("m", "pkg:M", Cfg, conditional=True, summary="s", tiny={"n": 2}, '
            'defaults={"trainer": {"steps": 5}, "per_data": {"toy2d": {"model": {"n": 3}}}}, sampler=Cfg)')
    entry = fake_plugins({"typed": hook("models", call)}).get("models", "m")
    assert (entry.conditional, entry.summary, dict(entry.tiny)) == (True, "s", {"n": 2})
    assert entry.sampler.__name__ == "Cfg" and entry.config_cls.__name__ == "Cfg"
    assert entry.options["sampler"] is entry.sampler and entry.options["conditional"] is True


@pytest.mark.parametrize(("kind", "call", "expected"), [
    # an unknown keyword, with the closest known one
    ("models", 'register("m", "pkg:M", Cfg, condtional=False, summary="s")',
     "register(): got an unexpected keyword argument 'condtional' (did you mean 'conditional'?)"),
    # a required keyword left out
    ("models", 'register("m", "pkg:M", Cfg, summary="s")',
     "register(): missing a required argument: 'conditional'"),
    # too many positional arguments (a config class for an exporter)
    ("exporters", 'register("x", Exporter(), Cfg, "summary")', "register(): too many positional arguments"),
    # an unknown keyword on a metric
    ("metrics", 'register("x", "pkg:f", "s", appiles="pkg:a")',
     "got an unexpected keyword argument 'appiles' (did you mean 'applies'?)"),
    # a summary that is not text (today's third positional config_cls of a metric)
    ("metrics", 'register("x", "pkg:f", Cfg)', "summary for 'x' is ModelMetaclass, not str"),
    # config_cls that is not a pydantic model
    ("data_sources", 'register("d", "pkg:load", dict, "s")', "config_cls is <class 'dict'>, not a pydantic"),
    # defaults with an unknown section
    ("models", 'register("m", "pkg:M", Cfg, conditional=False, defaults={"trainr": {}})',
     "unknown defaults key 'trainr'"),
    # per_data that is not a dict of sections
    ("models", 'register("m", "pkg:M", Cfg, conditional=False, defaults={"per_data": {"toy2d": 3}})',
     "defaults['per_data']['toy2d'] is not a dict"),
    # tiny that is not a dict
    ("models", 'register("m", "pkg:M", Cfg, conditional=False, tiny=[1])', "tiny is [1], not a dict"),
    # an exporter without export
    ("exporters", 'register("x", object(), "s")', "has no export method"),
    # a data source whose Hub dataset id is not owner/name
    ("data_sources", 'register("d", "pkg:load", Cfg, "s", hub_dataset="mnist")',
     "'d': hub_dataset 'mnist' is not a Hub dataset id"),
])
def test_misuse_fails_at_load_in_one_line(fake_plugins, monkeypatch, kind, call, expected):
    plugins = fake_plugins({"misused": hook(kind, call)})
    error = error_of(plugins, "misused")
    assert expected in error and "Fix: " in error and "\n" not in error
    assert error.startswith(f"genforge_register_{kind}: ")
    assert "digits" in plugins.names("data_sources")  # the other plugins still load
    monkeypatch.setenv("GENFORGE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as err:
        fake_plugins({}).registries  # noqa: B018
    assert str(err.value) == f"plugin 'misused' (misused 1.0): {error}"


def test_a_name_of_a_broken_plugin_says_why_it_is_missing(fake_plugins):
    plugins = fake_plugins({"misused": hook("models", 'register("m", "pkg:M", Cfg, conditional=1)')})
    with pytest.raises(PluginError, match=r"unknown model 'm'.*plugin 'misused' \(misused 1.0\) failed: "
                                          r"genforge_register_models: 'm': conditional is 1"):
        plugins.get("models", "m")


@pytest.mark.parametrize(("kind", "call", "registry", "check"), [
    # 0.1's form: the summary fourth, after config_cls
    ("models", 'register("m", "pkg:M", Cfg, "old summary", conditional=False)', "models",
     lambda e: e.summary == "old summary"),
    ("exporters", 'register("x", Exporter(), None, "old summary")', "exporters",
     lambda e: e.summary == "old summary"),
    ("metrics", 'register(name="x", target="pkg:f", summary="s", floor=False)', "metrics",
     lambda e: e.target == "pkg:f" and e.floor is False),
    ("feature_extractors", 'register(name="x", target="pkg:e", summary="s")', "feature_extractors",
     lambda e: e.name == "x" and e.target == "pkg:e"),
])
def test_the_old_call_form_still_works_with_a_deprecation_warning(fake_plugins, kind, call, registry, check):
    with pytest.warns(DeprecationWarning, match=r"plugin 'legacy' \(legacy 1.0\): genforge_register_\w+ "
                                                r"called register in genforge 0.1's form; call register\("):
        plugins = fake_plugins({"legacy": hook(kind, call)})
        entry = plugins.registries[registry]["x" if registry != "models" else "m"]
    assert check(entry) and error_of(plugins, "legacy") == ""
