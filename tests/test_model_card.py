"""The model card: RUN/README.md in the Hugging Face format, true to the run, its snippet runnable."""

from __future__ import annotations

import re

import genforge


def config(tmp_path, **trainer):
    return {"model": {"name": "cgan", "latent_dim": 8, "ngf": 8, "ndf": 8},
            "data": {"name": "digits", "size": 8}, "out": str(tmp_path / "run"),
            "trainer": {"steps": 4, "batch_size": 32, "progress": False, "sample_every": 0,
                        "checkpoint_every": 2, "log_every": 2, **trainer}}


def front_matter(card: str) -> dict[str, list[str] | str]:
    """The YAML front matter of a card (flat keys and string lists, as genforge writes it)."""
    assert card.startswith("---\n")
    block = card[4:card.index("\n---\n")]
    out: dict[str, list[str] | str] = {}
    for line in block.splitlines():
        if line.startswith("- "):
            out[key].append(line[2:].strip('"'))  # noqa: F821 - key is set by the line before
        else:
            key, _, value = line.partition(":")
            out[key] = value.strip() or []
    return out


def test_the_card_describes_the_run_and_its_snippet_loads_it(tmp_path):
    run = genforge.train(config(tmp_path, ema_decay=0.9))
    card = (tmp_path / "run" / "README.md").read_text()
    meta = front_matter(card)
    assert meta["library_name"] == "genforge"
    assert {"genforge", "cgan", "digits"} <= set(meta["tags"]) and meta["datasets"] == ["digits"]
    assert "# cgan on digits" in card and "for 4 of 4 steps" in card and "10 classes" in card
    assert "| `ema_decay` | `0.9` |" in card and "| `latent_dim` | `8` |" in card
    losses = re.search(r"Losses at step 4: (.*)\.", card).group(1)
    assert f"`loss_d` {run.metrics['loss_d']:.4g}" in losses
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

    from genforge.plugins import Plugins

    genforge.train(config(tmp_path), plugins=Plugins(extra=[Spy()]))
    assert [s for s, _ in written] == [2, 4]
    assert "for 2 of 4 steps" in written[0][1] and "Losses at step 2:" in written[0][1]
