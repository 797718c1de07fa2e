"""The model card: RUN/README.md in the Hugging Face format, true to the run, its snippet runnable,
its metadata what the Hub accepts (checked offline with huggingface_hub)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard import metadata_load

import genforge
from genforge.card import front_matter, refresh, run_card_facts
from genforge.cli import main
from genforge.config import resolve
from genforge.errors import ConfigError, GenforgeError
from genforge.eval_record import read as read_evaluation
from genforge.hub import HUB_LICENSES
from genforge.metrics.report import cell, fmt
from genforge.plugins import Plugins, default_plugins

TINY = {"gan": {"latent_dim": 8, "ngf": 8, "ndf": 8}, "cgan": {"latent_dim": 8, "ngf": 8, "ndf": 8},
        "cfm": {"widths": [8], "groups": 4, "embed_dim": 16, "hidden": 16, "layers": 1}}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def config(tmp_path, model="cgan", data=None, **trainer):
    return {"model": {"name": model, **TINY[model]}, "data": data or {"name": "digits", "size": 8},
            "out": str(tmp_path / "run"),
            "trainer": {"steps": 4, "batch_size": 32, "progress": False, "sample_every": 0,
                        "checkpoint_every": 2, "log_every": 2, **trainer}}


def hub_metadata(card_file: Path) -> dict:
    """The card's metadata as huggingface_hub reads it, checked as far as the library can offline."""
    card = ModelCard.load(card_file)  # a local file: parsed, never fetched
    meta = metadata_load(card_file)
    assert card.data.to_dict() == meta
    assert ModelCard(card.content).data.to_dict() == meta  # the library's own YAML round trip
    ModelCardData(**meta)  # strict: a malformed model-index or eval result would raise
    assert meta["library_name"] == "genforge" and meta["license"] in HUB_LICENSES
    for target in LINK.findall(card.text):  # every relative link (the grid) names a file there
        assert target.startswith("https://") or (card_file.parent / target).is_file(), target
    return meta


def test_the_card_describes_the_run_and_its_snippet_loads_it(tmp_path):
    genforge.train(config(tmp_path, ema_decay=0.9))
    card = (tmp_path / "run" / "README.md").read_text()
    meta = hub_metadata(tmp_path / "run" / "README.md")
    assert meta["license"] == "unknown" and "datasets" not in meta  # digits have no Hub dataset id
    assert meta["pipeline_tag"] == "unconditional-image-generation"
    assert meta["tags"] == ["genforge", "cgan", "digits", "generative-model", "safetensors",
                            "class-conditional"]
    assert "# cgan on digits" in card and "for 4 of 4 steps" in card and "10 classes" in card
    assert "| `ema_decay` | `0.9` |" in card and "| `latent_dim` | `8` |" in card
    assert "![samples at step 4, one row per class](samples/step-000004.png)" in card
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    losses = re.search(r"Losses at step 4: (.*)\.", card).group(1)
    values = {k: v for k, v in last.items() if k not in ("step", "samples_per_s", "time_s")}
    assert "loss_d" in values and losses == ", ".join(f"`{k}` {fmt(v)}" for k, v in values.items())
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    namespace: dict = {}
    exec(snippet.replace("path/to/this/folder", str(tmp_path / "run")), namespace)
    assert tuple(namespace["samples"].shape) == (16, 1, 8, 8)
    assert "genforge export path/to/this/folder --format onnx --out cgan.onnx" in card


def test_the_card_follows_the_checkpoints(tmp_path):
    written = []

    class Spy:
        @genforge.hookimpl(trylast=True)  # after the card is written
        def genforge_on_checkpoint_saved(self, run, step, path):
            written.append((step, (run.out / "README.md").read_text()))

    genforge.train(config(tmp_path, sample_every=1), plugins=Plugins(extra=[Spy()]))
    assert [s for s, _ in written] == [2, 4]
    assert "for 2 of 4 steps" in written[0][1] and "Losses at step 2:" in written[0][1]
    assert "(samples/step-000002.png)" in written[0][1]
    # the final card shows the final grid, written after the last checkpoint
    assert "(samples/step-000004.png)" in (tmp_path / "run" / "README.md").read_text()


@pytest.mark.parametrize("model,data", [("gan", None), ("cgan", None), ("cfm", None),
                                        ("gan", {"name": "toy2d", "n_train": 256, "n_test": 128})],
                         ids=["unconditional", "conditional", "iterative", "vectors"])
def test_the_card_meets_the_hubs_metadata_rules_before_and_after_eval_and_export(tmp_path, capsys,
                                                                                  model, data):
    genforge.train(config(tmp_path, model, data))
    run, card_file = tmp_path / "run", tmp_path / "run" / "README.md"
    image = data is None
    meta = hub_metadata(card_file)
    assert meta.get("pipeline_tag") == ("unconditional-image-generation" if image else None)
    assert ("class-conditional" in meta["tags"]) == (model != "gan")
    assert "onnx" not in meta["tags"] and "`genforge eval` of step" not in card_file.read_text()
    if model == "cfm":  # the sampling defaults of an iterative family
        card = card_file.read_text()
        for row in ('| `sampler` | `"heun"` |', "| `steps` | `10` |", "| `guidance` | `1.1` |"):
            assert row in card

    assert main(["eval", str(run), "--n", "50", "--seeds", "2", "--metrics", "fd", "--device", "cpu"]) == 0
    assert f"recorded in {run / 'eval.json'}" in capsys.readouterr().out
    card = card_file.read_text()
    assert hub_metadata(card_file) == meta
    fd = read_evaluation(run)["results"]["fd"]
    assert "`genforge eval` of step 4 (EMA weights" in card
    assert "- n = 50 generated samples per seed, 2 seeds" in card
    assert f"| `fd` | {cell(fd)} | {cell(fd['floor'])} | lower |" in card

    onnx = run / f"{model}.onnx"
    if model == "cgan":  # a real export into the run folder refreshes its card
        assert main(["export", str(run), "--format", "onnx", "--out", str(onnx)]) == 0
    else:  # the card goes by the files present (refreshed by the next checkpoint, eval or export)
        onnx.write_bytes(b"")
        refresh(run, default_plugins())
    meta = hub_metadata(card_file)
    assert "onnx" in meta["tags"]
    assert f"genforge-run path/to/this/folder/{model}.onnx -n 64" in card_file.read_text()


def test_datasets_are_the_data_sources_hub_id_or_the_card_sections(tmp_path):
    digits = default_plugins().get("data_sources", "digits")

    class HubDigits:
        @genforge.hookimpl
        def genforge_register_data_sources(self, register):
            register("hub-digits", digits.target, digits.config_cls, hub_dataset="someone/digits")

    plugins = Plugins(extra=[HubDigits()])
    genforge.train(config(tmp_path, "gan", {"name": "hub-digits", "size": 8}), plugins=plugins)
    assert hub_metadata(tmp_path / "run" / "README.md")["datasets"] == ["someone/digits"]
    facts = run_card_facts(tmp_path / "run", plugins)
    chosen = resolve({**facts.saved.config, "card": {"datasets": ["ylecun/mnist"], "license": "cc-by-4.0"}},
                     plugins, defaults=False)
    meta = front_matter(type(facts)(**{**facts.__dict__, "config": chosen}))
    assert meta["datasets"] == ["ylecun/mnist"] and meta["license"] == "cc-by-4.0"


@pytest.mark.parametrize("card,message", [
    ({"license": "Apache 2.0"}, "card.license = 'Apache 2.0': expected a license id of the Hub, such as "
                                "apache-2.0"),
    ({"license": "other"}, "license = other needs license_name (and license_link)"),
    ({"license_name": "mine"}, "license_name and license_link go with license = other only"),
    ({"datasets": ["mnist"]}, "card.datasets = ['mnist']: 'mnist': expected a Hub dataset id such as "
                              "ylecun/mnist (owner/name)"),
    ({"licence": "mit"}, "card.licence: unknown key"),
])
def test_a_bad_card_section_is_one_line_naming_the_field(card, message):
    with pytest.raises(ConfigError) as e:
        resolve({"model": {"name": "gan"}, "card": card}, default_plugins())
    assert message in str(e.value) and "\n" not in str(e.value)


def test_license_other_names_its_license_in_the_metadata(tmp_path):
    genforge.train({**config(tmp_path, "gan"),
                    "card": {"license": "other", "license_name": "my-terms",
                             "license_link": "https://example.org/terms"}})
    meta = hub_metadata(tmp_path / "run" / "README.md")
    assert (meta["license"], meta["license_name"]) == ("other", "my-terms")
    assert meta["license_link"] == "https://example.org/terms"


def test_a_malformed_eval_record_is_left_out_of_the_card_with_a_warning(tmp_path):
    genforge.train(config(tmp_path, "gan"))
    (tmp_path / "run" / "eval.json").write_text('{"step": 4, "results": {"fd": 1}}')
    with pytest.raises(GenforgeError, match=r"eval.json: expected what genforge eval records"):
        read_evaluation(tmp_path / "run")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        facts = run_card_facts(tmp_path / "run", default_plugins())
    assert facts.evaluation is None and any("eval.json" in str(w.message) for w in caught)
