"""Model names across distributions: a clash fails only its own name, DIST:NAME chooses one,
and a checkpoint opens with the family of the distribution that wrote it."""

from __future__ import annotations

import json
import shutil
import sys
from importlib.metadata import version

import pytest

import genforge
from genforge.checkpoint import CONFIG, FAMILY_KEY, FAMILY_VERSION_KEY, find_checkpoint
from genforge.cli import main
from genforge.config import build_raw, resolve
from genforge.errors import PluginError
from genforge.plugins import default_plugins
from tests.conftest import make_dist

#: An older third-party plugin that registers ``ddpm`` too (a GAN under that name).
OLD_DDPM = """
from genforge import hookimpl
from genforge_gan.config import GANConfig

@hookimpl
def genforge_register_models(register):
    register("ddpm", "genforge_gan.model:GAN", GANConfig, conditional=False,
             summary="an older plugin's ddpm", defaults={"data": {"name": "digits", "size": 8}})
"""

RUN = ["--steps", "2", "--no-progress", "--set", "trainer.batch_size=8", "--set", "trainer.grid_samples=4",
       "--set", "trainer.ema_decay=0"]
DDPM_TINY = ["--set", "data.size=8", "--set", "model.widths=[8]", "--set", "model.groups=4",
             "--set", "model.embed_dim=16", "--set", "sampler.steps=2"]
GAN_TINY = ["--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "model.latent_dim=4"]


@pytest.fixture
def old_plugin(tmp_path, monkeypatch):
    """Install ``old-plugin 0.3`` (registering ``ddpm``) beside the real distributions; return its folder."""
    site = make_dist(tmp_path / "site", "old-plugin", OLD_DDPM, version="0.3")
    monkeypatch.syspath_prepend(str(site))
    default_plugins.cache_clear()
    yield site
    default_plugins.cache_clear()
    sys.modules.pop("old_plugin", None)


def uninstall(site) -> None:
    """Take the fake distribution off the path (the fixture's monkeypatch restores sys.path)."""
    sys.path.remove(str(site))
    default_plugins.cache_clear()


def train(model: str, out, *extra: str) -> int:
    return main(["train", "--model", model, "--out", str(out), *RUN, *extra])


def test_a_clash_fails_only_lookups_of_the_clashing_name(old_plugin, tmp_path, capsys):
    assert train("cgan", tmp_path / "cgan", *GAN_TINY) == 0
    capsys.readouterr()
    assert train("ddpm", tmp_path / "ddpm", *DDPM_TINY) == 2
    err = capsys.readouterr().err
    diffusion = f"genforge-diffusion {version('genforge-diffusion')}"
    assert err.count("\n") == 1 and err.startswith("genforge: error: model name 'ddpm' is registered by both")
    assert diffusion in err and "old-plugin 0.3" in err
    assert "choose one as" in err and "genforge-diffusion:ddpm" in err and "old-plugin:ddpm" in err
    assert not (tmp_path / "ddpm").exists()


def test_plugins_shows_the_clash_as_a_problem(old_plugin, capsys):
    assert main(["plugins", "-v"]) == 1
    out = capsys.readouterr().out
    assert "CONFLICT: model name 'ddpm' is registered by both" in out
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("model ")]
    assert {"genforge-diffusion:ddpm", "old-plugin:ddpm", "cgan"} <= set(listed) and "ddpm" not in listed
    assert main(["plugins", "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)["conflicts"]) == 1


def test_each_ddpm_trains_and_its_checkpoint_opens_with_its_own_family(old_plugin, tmp_path, capsys):
    from genforge_diffusion.model import DDPM
    from genforge_gan.model import GAN

    assert train("genforge-diffusion:ddpm", tmp_path / "new", *DDPM_TINY) == 0
    assert train("old-plugin:ddpm", tmp_path / "old", "--data", "digits", *GAN_TINY) == 0
    saved = json.loads((find_checkpoint(tmp_path / "old") / CONFIG).read_text())
    assert (saved[FAMILY_KEY], saved[FAMILY_VERSION_KEY], saved["model"]["name"]) == \
        ("old-plugin", "0.3", "old-plugin:ddpm")
    # a run whose config names plain 'ddpm' (written before the clash) goes by the distribution it recorded
    bare = tmp_path / "bare"
    shutil.copytree(tmp_path / "old", bare)
    config = find_checkpoint(bare) / CONFIG
    config.write_text(config.read_text().replace('"old-plugin:ddpm"', '"ddpm"'))
    for run, family in ((tmp_path / "new", DDPM), (tmp_path / "old", GAN), (bare, GAN)):
        loaded = genforge.load(run, device="cpu")
        assert type(loaded.model) is family and loaded.config.model_entry.name == "ddpm"
    assert main(["sample", str(bare), "-n", "4", "--out", str(tmp_path / "bare.png")]) == 0
    assert main(["train", "--resume", "--out", str(bare), "--steps", "3", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", "--model", "genforge-diffusion:ddpm", "--out", str(bare),
                 "--steps", "4", "--no-progress"]) == 2
    assert "holds a 'old-plugin:ddpm' run, not 'genforge-diffusion:ddpm'" in capsys.readouterr().err

    uninstall(old_plugin)  # the older plugin's checkpoints now say who wrote them
    for run in (tmp_path / "old", bare):
        assert main(["sample", str(run), "-n", "4", "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "weights do not match" not in err
        assert err.rstrip().endswith("written by model 'ddpm' of old-plugin 0.3, which is not installed "
                                     "(installed: genforge-diffusion:ddpm); install old-plugin to open it")


def test_dist_name_selects_a_model_without_a_clash():
    plugins = default_plugins()
    for name in ("genforge-gan:cgan", "Genforge_Gan:cgan"):  # distribution names compare as pip does
        cfg = resolve(build_raw(model=name, data="genforge:digits"), plugins)
        assert cfg.model_entry.plugin.dist == "genforge-gan" and cfg.model_entry.name == "cgan"
        assert cfg.run.model.name == name and cfg.to_dict()["model"]["name"] == name
        assert cfg.run.out == "runs/cgan-digits"
    with pytest.raises(PluginError, match=r"unknown model 'genforge-vae:cgan': no installed distribution "
                                          r"'genforge-vae' registers it; 'cgan' is registered as "
                                          r"genforge-gan:cgan"):
        plugins.get("models", "genforge-vae:cgan")
