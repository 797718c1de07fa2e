"""Run configs: TOML, --set overrides, plugin-section validation, one-line errors."""

from __future__ import annotations

import pytest

from genforge.config import apply_override, build_raw, parse_value, resolve
from genforge.errors import ConfigError
from genforge.plugins import default_plugins


@pytest.fixture
def plugins():
    return default_plugins()


def test_toml_file_flags_and_overrides_combine(tmp_path, plugins):
    path = tmp_path / "run.toml"
    path.write_text('seed = 3\n[model]\nname = "gan"\nlatent_dim = 12\n[trainer]\nsteps = 7\n')
    raw = build_raw(path, steps=9, overrides=["model.ngf=16", "data.size=16", "trainer.progress=false"])
    cfg = resolve(raw, plugins)
    assert cfg.run.seed == 3 and cfg.run.trainer.steps == 9 and cfg.run.trainer.progress is False
    assert cfg.model.latent_dim == 12 and cfg.model.ngf == 16
    assert cfg.data.size == 16 and cfg.run.out == "runs/gan-digits"


def test_family_defaults_fill_in_under_user_values(plugins):
    cfg = resolve(build_raw(model="cgan"), plugins)
    assert cfg.data.size == 16 and cfg.run.trainer.steps == 2000  # the GAN family's defaults (cgan on digits)
    cfg = resolve(build_raw(model="cgan", steps=5, overrides=["data.size=8"]), plugins)
    assert cfg.data.size == 8 and cfg.run.trainer.steps == 5
    cfg = resolve(build_raw(model="gan", data="toy2d"), plugins)
    assert cfg.run.data.name == "toy2d" and cfg.data.dataset == "8gaussians"


def test_to_dict_round_trips(plugins):
    cfg = resolve(build_raw(model="gan", overrides=["model.latent_dim=5"]), plugins)
    again = resolve(cfg.to_dict(), plugins)
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.latent_dim=abc"], "model.latent_dim = 'abc': input should be a valid integer"),
        (["model.latent_dim=-1"], "model.latent_dim = -1: input should be greater than 0"),
        (["model.latnt_dim=4"], "model.latnt_dim: unknown key; known keys: "),
        (["data.size=12"], "data.size = 12: input should be 8, 16, 32 or 64"),
        (["trainer.steps=0"], "trainer.steps = 0: input should be greater than 0"),
        (["trainer.stpes=4"], "trainer.stpes: unknown key"),
        (["trainer.device=tpu"], "trainer.device = 'tpu': string should match pattern"),
        (["sed=1"], "sed: unknown key"),
    ],
)
def test_bad_values_give_one_line_errors_naming_field_and_value(plugins, overrides, message):
    with pytest.raises(ConfigError) as err:
        resolve(build_raw(model="gan", overrides=overrides), plugins)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_model_lists_the_choices(plugins):
    with pytest.raises(ConfigError, match="model.name: missing; choose one of: .*cgan, .*gan"):
        resolve({}, plugins)


def test_unknown_model_suggests_a_name(plugins):
    with pytest.raises(Exception, match="unknown model 'cgann'.*did you mean 'cgan'"):
        resolve(build_raw(model="cgann"), plugins)


def test_lenient_mode_warns_and_drops_unknown_keys(plugins):
    raw = build_raw(model="gan", overrides=["model.retired_option=1", "trainer.old=2"])
    raw["legacy"] = True
    with pytest.warns(UserWarning) as record:
        cfg = resolve(raw, plugins, strict=False)
    text = " ".join(str(w.message) for w in record)
    assert "model.retired_option" in text and "trainer.old" in text and "legacy" in text
    assert cfg.model.latent_dim == 100


def test_set_values_parse_as_toml():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value("some/path.npz") == "some/path.npz"
    raw: dict = {}
    apply_override(raw, "a.b.c=1")
    assert raw == {"a": {"b": {"c": 1}}}
    with pytest.raises(ConfigError, match="expected section.key=value"):
        apply_override(raw, "novalue")


def test_missing_and_malformed_toml_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        build_raw(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        build_raw(bad)
