"""Plugin loading: broken plugins, misspelled hooks, duplicates, filters, registries."""

from __future__ import annotations

import pytest

from genforge.errors import PluginError

GOOD = """
from genforge import hookimpl
from pydantic import BaseModel

class Cfg(BaseModel):
    width: int = 4

@hookimpl
def genforge_register_models(register):
    register("{name}", "genforge_gan.model:GAN", Cfg, conditional=False, summary="fake")
"""


def test_builtin_data_sources_and_installed_gan_are_registered():
    from genforge.plugins import Plugins

    plugins = Plugins()
    assert {"digits", "npz", "image-folder", "toy2d"} <= set(plugins.names("data_sources"))
    assert {"gan", "cgan"} <= set(plugins.names("models"))
    entry = plugins.get("models", "cgan")
    assert entry.plugin.dist == "genforge-gan" and entry.conditional is True


def test_broken_plugin_is_recorded_and_skipped(fake_plugins):
    plugins = fake_plugins({"broken-one": "raise RuntimeError('boom at import')",
                            "good-one": GOOD.format(name="goodmodel")})
    broken = next(r for r in plugins.records if r.dist == "broken-one")
    assert "RuntimeError: boom at import" in broken.error
    assert "goodmodel" in plugins.names("models")


def test_broken_plugin_is_fatal_in_strict_mode(fake_plugins, monkeypatch):
    monkeypatch.setenv("GENFORGE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="broken-one.*boom"):
        fake_plugins({"broken-one": "raise RuntimeError('boom')"})


def test_misspelled_hook_is_caught_with_a_suggestion(fake_plugins):
    code = """
from genforge import hookimpl

@hookimpl
def genforge_register_model(register):
    register("typo", object, None)
"""
    plugins = fake_plugins({"typo-plugin": code})
    record = next(r for r in plugins.records if r.dist == "typo-plugin")
    assert "unknown hook 'genforge_register_model'" in record.error
    assert "did you mean 'genforge_register_models'" in record.error
    assert "typo" not in plugins.names("models")


def test_hook_with_wrong_argument_is_rejected(fake_plugins):
    code = """
from genforge import hookimpl

@hookimpl
def genforge_register_models(registry):
    pass
"""
    plugins = fake_plugins({"badargs": code})
    record = next(r for r in plugins.records if r.dist == "badargs")
    assert record.error.startswith("invalid hook") and "registry" in record.error


def test_duplicate_names_name_both_distributions(fake_plugins):
    plugins = fake_plugins({"first-dist": GOOD.format(name="same"),
                            "second-dist": GOOD.format(name="same")})
    with pytest.raises(PluginError) as err:
        plugins.get("models", "same")
    message = str(err.value)
    assert "first-dist 1.0" in message and "second-dist 1.0" in message


def test_duplicate_of_a_builtin_name_is_reported(fake_plugins):
    code = """
from genforge import hookimpl
from pydantic import BaseModel

@hookimpl
def genforge_register_data_sources(register):
    register("digits", "x:y", BaseModel, "shadow")
"""
    plugins = fake_plugins({"shadow": code})
    assert any("'digits'" in c and "genforge 0.1.0" in c and "shadow 1.0" in c
               for c in plugins.conflicts)
    # only lookups of the clashing name fail; DIST:NAME chooses one
    assert plugins.get("data_sources", "toy2d").plugin.dist == "genforge"
    with pytest.raises(PluginError, match=r"choose one as genforge:digits or shadow:digits$"):
        plugins.get("data_sources", "digits")
    assert plugins.get("data_sources", "shadow:digits").target == "x:y"
    assert plugins.get("data_sources", "genforge:digits").plugin.name == "genforge.builtins.data_sources"
    assert "digits" not in plugins.registries["data_sources"]
    assert {"genforge:digits", "shadow:digits", "toy2d"} <= set(plugins.names("data_sources"))


def test_one_distribution_registering_a_name_twice_says_so(fake_plugins):
    again = '    register("same", "x:Y", Cfg, conditional=False, summary="again")\n'
    twice = GOOD.format(name="same") + again
    plugins = fake_plugins({"twice-dist": twice})
    with pytest.raises(PluginError, match=r"registered by both plugin 'twice_dist' \(twice-dist 1.0\) and "
                                          r"plugin 'twice_dist' \(twice-dist 1.0\); uninstall one"):
        plugins.get("models", "twice-dist:same")


def test_a_name_holding_a_colon_is_refused(fake_plugins):
    plugins = fake_plugins({"colon": GOOD.format(name="my:model")})
    record = next(r for r in plugins.records if r.dist == "colon")
    plugins.registries  # noqa: B018 - the registration hooks run when the registries are first used
    assert "name 'my:model' holds ':', which separates a distribution from a name" in record.error


def test_register_hook_that_raises_is_skipped(fake_plugins):
    code = """
from genforge import hookimpl

@hookimpl
def genforge_register_models(register):
    raise KeyError("inside register")
"""
    plugins = fake_plugins({"raiser": code, "good-one": GOOD.format(name="fine")})
    assert "fine" in plugins.names("models")
    record = next(r for r in plugins.records if r.dist == "raiser")
    assert "genforge_register_models raised KeyError" in record.error


def test_load_plugins_env_limits_what_loads(fake_plugins, monkeypatch):
    monkeypatch.setenv("GENFORGE_LOAD_PLUGINS", "keep-me")
    plugins = fake_plugins({"keep-me": GOOD.format(name="kept"),
                            "drop-me": GOOD.format(name="dropped")})
    assert "kept" in plugins.names("models") and "dropped" not in plugins.names("models")
    assert "digits" in plugins.names("data_sources")  # built-ins always load


def test_unknown_name_suggests_the_closest(fake_plugins):
    plugins = fake_plugins({})
    with pytest.raises(PluginError, match="unknown data source 'digit'.*did you mean 'digits'"):
        plugins.get("data_sources", "digit")


def test_string_target_that_cannot_import_is_a_plugin_error(fake_plugins):
    code = """
from genforge import hookimpl

@hookimpl
def genforge_register_models(register):
    register("ghost", "no_such_module_xyz:Model", BaseModel, conditional=False, summary="")
"""
    plugins = fake_plugins({"ghostly": "from pydantic import BaseModel\n" + code})
    with pytest.raises(PluginError, match="model 'ghost' from ghostly 1.0: cannot import"):
        plugins.get("models", "ghost").load()
