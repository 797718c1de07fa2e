"""Every command of README.md and docs/guide.md runs, and prints what the docs show.

``tests/doc_blocks.py`` sorts each page's fenced blocks; here

- each ``commands`` block runs line by line, and each ``python`` block as a script, in document
  order in one new folder per page, this environment's scripts first on ``PATH``, after the
  ``SUBSTITUTIONS`` (each with its reason); ``EXCLUDED`` names, with a reason, each command
  that does not run here. An ``output`` block right after is compared with what the block
  printed (stdout and stderr); every command exits 0, but for the last, which exits 2 when
  the output shown ends with its one-line error;
- a command of a program outside ``RUNNABLE`` (one that could change this environment, such
  as ``pip`` or ``make``) must be excluded: a new one fails the check until it is classified;
- each ``toml`` block is a run config that validates; each ``synopsis`` names only options its
  parser has; each ``other`` block is named in ``NOT_COMMANDS``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.doc_blocks import Block, blocks, program, same_output, without_comment

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/guide.md")
#: This environment's scripts come first, as in an activated virtualenv.
PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
#: Programs whose commands run here: they write only below the folder they run in (genforge's
#: ``plugins install`` and ``uninstall`` run with ``--dry-run``: see ``SUBSTITUTIONS``).
RUNNABLE = {"genforge", "genforge-run", "python", "ls"}
#: A command's time limit; each of today's takes seconds.
TIMEOUT_S = 300

EXCLUDED: dict[str, str] = {
    "make demo": "creates .venv and trains cgan for 2,000 steps (minutes); "
                 "plugins/gan/tests/test_gan.py -k demo trains its config and checks the samples' classes",
    "make test": "runs the whole test suite, this test included",
    "pip install genforge": "installs a release from a package index (network)",
    "pip install 'genforge[onnx]' 'genforge-runtime[cpu]'":
        "installs releases from a package index (network)",
    "pip install 'genforge[tensorboard]'": "installs a release from a package index (network)",
    "pip install 'genforge-runtime[gpu,png]'": "installs a release from a package index (network)",
    "pip wheel --no-deps --wheel-dir wheelhouse . ./exporters/runtime ./plugins/gan":
        "builds wheels, with build isolation from a package index; tests/conftest.py's wheelhouse fixture "
        "builds them without it for tests/test_install.py",
    "pip install --find-links wheelhouse genforge":
        "installs into this environment; tests/test_install.py installs the same wheels into a new one",
    "hf upload OWNER/cgan-digits hub/cgan-digits": "uploads to a model hub (network, an account)",
    'from huggingface_hub import HfApi\n\nHfApi().upload_folder(folder_path="hub/cgan-digits", '
    'repo_id="OWNER/cgan-digits", repo_type="model")': "uploads to a model hub (network, an account)",
}

SUBSTITUTIONS: list[tuple[str, str, str]] = [
    (r"\bRUN_DIR\b", "run", "a placeholder: a cgan trained 2 steps on the image folder below"),
    (r"\bdata\.path=DIR\b", "data.path=images",
     "a placeholder: 100 digits as 32x32 RGB PNGs, one subfolder per class"),
    (r"(--steps |trainer\.steps=|\"steps\": )\d{3,}", r"\g<1>10",
     "training for hundreds of steps takes minutes; 10 steps write the same files"),
    (r"\"out\": \"runs/api-demo\"}\)", "\"out\": \"runs/api-demo\", \"trainer\": {\"steps\": 10}})",
     "cgan trains 2,000 steps by default (minutes); 10 steps write the same files"),
    (r"^(genforge train --model cfm --data wav-folder .*)data\.length=2048$", r"\1data.length=256 --steps 10",
     "cfm trains 4,000 steps by default, here on 2,048-sample signals (minutes); 10 steps on 256 samples "
     "write the same files"),
    (r"^(genforge plugins (?:un)?install .*)$", r"\1 --dry-run",
     "installing changes this environment; --dry-run finds the catalogue entry, checks its genforge "
     "range and prints the pip command"),
]

#: Blocks that are neither commands nor their output, by page and first line.
NOT_COMMANDS: dict[tuple[str, str], str] = {
    ("README.md", "core/genforge/      the core (distribution genforge)"):
        "the repository's layout (tests/test_docs.py checks it names every project)",
    ("docs/guide.md", "RUN_DIR/"): "the files of a run folder (tests/test_docs.py checks them against a run)",
    ("docs/guide.md", "genforge: error: wav file 'calls/dog/7.wav': 22050 Hz, but 'calls/cat/0.wav' is "
     "16000 Hz; the files must share one sample rate (resample them first)"):
        "an error of the wav-folder source (tests/test_wav_folder.py makes it with mismatched rates)",
}


@dataclass
class Step:
    """One command of a page (or a whole python block) and what runs in its place."""

    block: Block
    command: str  # as the docs show it (shell lines without their comment)
    run: str | None  # after the substitutions; None when excluded
    used: list[int]  # the substitutions that changed it

    @property
    def program(self) -> str:
        """The program the step runs."""
        return "python" if self.block.kind == "python" else program(self.command)


def substituted(text: str) -> tuple[str, list[int]]:
    """``text`` after ``SUBSTITUTIONS``, and which of them applied."""
    used = []
    for i, (pattern, replacement, _) in enumerate(SUBSTITUTIONS):
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        if count:
            used.append(i)
    return text, used


def steps_of(block: Block) -> list[Step]:
    """The steps of a ``commands`` or ``python`` block."""
    if block.kind == "python":
        run, used = substituted(block.text) if block.text.strip() not in EXCLUDED else (None, [])
        return [Step(block, block.text.strip(), run, used)]
    steps = []
    for line in block.lines():
        command = without_comment(line)
        run, used = substituted(command) if command not in EXCLUDED else (None, [])
        steps.append(Step(block, command, run, used))
    return steps


def page(doc: str) -> list[Block]:
    """The blocks of one page."""
    return blocks(ROOT, doc)


def runnable_blocks() -> list[Block]:
    """The ``commands`` and ``python`` blocks of every page, in order."""
    return [b for doc in DOCS for b in page(doc) if b.kind in ("commands", "python")]


def block_id(block: Block) -> str:
    """``PAGE:LINE`` and the start of the block's first command that runs."""
    if block.kind == "python":
        first = next(ln for ln in block.text.splitlines() if ln.strip() and not ln.startswith("import"))
    else:
        first = next((s.command for s in steps_of(block) if s.run is not None), block.lines()[0])
    return f"{block.doc}:{block.line} {first[:60]}"


def output_after(block: Block) -> Block | None:
    """The ``output`` block shown right after ``block``."""
    blocks_ = page(block.doc)
    nxt = blocks_.index(next(b for b in blocks_ if b.line == block.line)) + 1
    return blocks_[nxt] if nxt < len(blocks_) and blocks_[nxt].kind == "output" else None


PAGE = """\
```
genforge train --model gan \\
  --steps 5   # a comment
OMP_NUM_THREADS=1 ls runs
```

```
wrote 5 samples of gan to x.png
...
done in ... s
```

```
genforge sample RUN [--seed S]
```

Text between.

```
RUN_DIR/
```
"""


def test_the_parser_sorts_blocks_and_matches_shown_output(tmp_path):
    (tmp_path / "page.md").write_text(PAGE)
    found = blocks(tmp_path, "page.md")
    assert [(b.line, b.kind) for b in found] == [(1, "commands"), (7, "output"), (13, "synopsis"),
                                                 (19, "other")]
    assert found[0].lines() == ["genforge train --model gan --steps 5   # a comment",
                                "OMP_NUM_THREADS=1 ls runs"]
    assert [program(line) for line in found[0].lines()] == ["genforge", "ls"]
    assert without_comment(found[0].lines()[0]) == "genforge train --model gan --steps 5"
    assert without_comment("genforge train --set 'a=\"#x\"' # b") == "genforge train --set 'a=\"#x\"'"
    shown = found[1].text
    assert same_output(shown, "wrote 5 samples of gan to x.png\nloss 1\nloss 2\ndone in 3.2 s\n")
    assert same_output(shown, "wrote 5 samples of gan to x.png\ndone in 3.2 s  \n\n")
    assert not same_output(shown, "wrote 6 samples of gan to x.png\ndone in 3.2 s\n")
    assert not same_output(shown, "wrote 5 samples of gan to x.png\ndone in 3.2 s\nmore\n")


def test_every_command_is_run_or_excluded():
    steps = [s for b in runnable_blocks() for s in steps_of(b)]
    unclassified = [f"{s.block.doc}:{s.block.line}: {s.command}" for s in steps
                    if s.run is not None and s.program not in RUNNABLE]
    assert not unclassified, ("commands that neither run here nor are EXCLUDED (with a reason): "
                              f"{unclassified}")
    commands = {s.command for s in steps}
    assert [c for c in EXCLUDED if c not in commands] == [], "EXCLUDED names commands no longer in the docs"
    used = {i for s in steps for i in s.used}
    assert [SUBSTITUTIONS[i][0] for i in range(len(SUBSTITUTIONS)) if i not in used] == [], (
        "substitutions that no longer apply")


def test_every_block_is_classified():
    other = {(b.doc, b.text.splitlines()[0].strip()): b.line for doc in DOCS for b in page(doc)
             if b.kind == "other"}
    assert sorted(set(other) - set(NOT_COMMANDS)) == [], "blocks that are not commands: name them"
    assert sorted(set(NOT_COMMANDS) - set(other)) == [], "NOT_COMMANDS names blocks no longer there"
    kinds = {b.kind for doc in DOCS for b in page(doc)}
    assert kinds <= {"commands", "synopsis", "output", "other", "python", "toml"}, kinds


@pytest.fixture(scope="session")
def shared_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the placeholders stand for: ``images/`` (10 classes of 10 digits as 32x32 RGB PNGs),
    ``run/`` (a tiny cgan trained 2 steps on them) and ``calls/`` (two classes, ``cat`` and
    ``dog``, of 40 tones each as 16 kHz WAV files: more than a default batch)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    import genforge

    root = tmp_path_factory.mktemp("doc-inputs")
    digits = load_digits()
    for label in range(10):
        (root / "images" / str(label)).mkdir(parents=True)
        for i in np.flatnonzero(digits.target == label)[:10]:
            pixels = (digits.images[i] * 255 / 16).astype(np.uint8)
            Image.fromarray(pixels).resize((32, 32), Image.NEAREST).convert("RGB").save(
                root / "images" / str(label) / f"{i}.png")
    from genforge import wav

    for k, name in enumerate(("cat", "dog")):
        (root / "calls" / name).mkdir(parents=True)
        for i in range(40):
            t = np.arange(2048) / 16000
            wav.write(root / "calls" / name / f"{i}.wav",
                      0.5 * np.sin(2 * np.pi * (220 * (k + 1) + 2 * i) * t)[None], 16000)
    genforge.train({"model": {"name": "cgan", "latent_dim": 8, "ngf": 8, "ndf": 8},
                    "data": {"name": "image-folder", "path": str(root / "images")},
                    "trainer": {"steps": 2, "batch_size": 16, "progress": False, "sample_every": 0},
                    "out": str(root / "run")})
    return root


@dataclass
class Ran:
    """What one block's steps did: the output of all of them, and each one's exit status."""

    output: str
    statuses: list[int]


def run_step(step: Step, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run one step in ``folder`` (a python block as a script file)."""
    env = {**os.environ, "PATH": PATH, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("GENFORGE_DEBUG", None)
    assert step.run is not None
    if step.block.kind == "python":
        script = folder / f"block-{step.block.line}.py"
        script.write_text(step.run)
        argv = [sys.executable, script.name]
    else:
        argv = ["bash", "-c", step.run]
    return subprocess.run(argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=TIMEOUT_S)


@pytest.fixture(scope="session")
def ran(shared_inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Block], Ran]:
    """``ran(block)``: the block's result, its page's earlier blocks run first, each once."""
    done: dict[tuple[str, int], Ran] = {}
    folders: dict[str, Path] = {}

    def get(block: Block) -> Ran:
        if block.doc not in folders:
            folder = tmp_path_factory.mktemp("doc-" + Path(block.doc).stem)
            shutil.copytree(shared_inputs / "images", folder / "images")
            shutil.copytree(shared_inputs / "run", folder / "run")
            shutil.copytree(shared_inputs / "calls", folder / "calls")
            folders[block.doc] = folder
        for earlier in [b for b in page(block.doc) if b.kind in ("commands", "python")]:
            key = (earlier.doc, earlier.line)
            if key not in done:
                results = [run_step(s, folders[block.doc]) for s in steps_of(earlier) if s.run is not None]
                done[key] = Ran("".join(r.stdout for r in results), [r.returncode for r in results])
            if earlier.line == block.line:
                return done[key]
        raise AssertionError(f"{block.doc}:{block.line} is not a block of its page")

    return get


@pytest.mark.parametrize("block", [b for b in runnable_blocks() if any(s.run for s in steps_of(b))],
                         ids=block_id)
def test_the_documented_commands_run_and_print_what_is_shown(block, ran):
    steps = [s for s in steps_of(block) if s.run is not None]
    shown = output_after(block)
    assert shown is None or len(steps) == len(steps_of(block)), (
        "a block whose output is shown runs whole: exclude none of its commands")
    result = ran(block)
    fails = shown is not None and re.search(r"^\S+: error: .*\n?\Z", shown.text, re.M) is not None
    want = [0] * (len(steps) - 1) + [2 if fails else 0]
    assert result.statuses == want, f"exit statuses {result.statuses}, expected {want}:\n{result.output}"
    if shown is not None:
        assert same_output(shown.text, result.output), (
            f"{block.doc}:{shown.line} shows\n{shown.text}but the commands printed\n{result.output}")


@pytest.mark.parametrize("block", [b for doc in DOCS for b in page(doc) if b.kind == "toml"],
                         ids=lambda b: f"{b.doc}:{b.line}")
def test_each_config_shown_is_a_valid_run_config(block, tmp_path):
    from genforge.config import build_raw, resolve
    from genforge.plugins import default_plugins

    path = tmp_path / "run.toml"
    path.write_text(block.text)
    assert resolve(build_raw(path), default_plugins()).run.model.name == build_raw(path)["model"]["name"]


def parser_options(line: str) -> tuple[set[str], set[str]]:
    """The options a synopsis line names, and those its command's parsers (along the
    subcommands it names) accept."""
    words = [w.strip("[]|") for w in without_comment(line).split()]
    if words[0] == "genforge-run":
        from genforge_runtime.cli import build_parser as runtime_parser

        parsers = [runtime_parser()]
    else:
        from genforge.cli import build_parser
        from genforge.plugins import default_plugins

        parsers = [build_parser(default_plugins())]
        for word in words[1:]:
            subs = [a for a in parsers[-1]._actions if a.choices and isinstance(a.choices, dict)]
            if subs and word in subs[0].choices:
                parsers.append(subs[0].choices[word])
    accepted = {o for p in parsers for a in p._actions for o in a.option_strings}
    named = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", without_comment(line)))
    return named, accepted


@pytest.mark.parametrize("line", [(b.doc, line) for doc in DOCS for b in page(doc) if b.kind == "synopsis"
                                  for line in b.lines()], ids=lambda x: f"{x[0]} {x[1][:50]}")
def test_each_synopsis_names_real_options(line):
    named, accepted = parser_options(line[1])
    assert sorted(named - accepted) == [], line
