"""The fenced code blocks of a markdown page, sorted into what the docs tests do with them.

An untagged (or ``sh``/``shell``/``bash``/``console``) block is

- ``commands`` when every line (a trailing ``\\`` joins the next) starts with one of
  ``PROGRAMS`` (after any ``NAME=value`` assignments); ``synopsis`` when one of those lines
  also shows optional arguments in brackets (``[--seed S]``);
- ``output`` when it follows a ``commands`` or ``python`` block with nothing but blank lines
  between them: what those commands print; ``...`` stands for any text in a line, and a
  line of ``...`` alone for any number of lines;
- ``other`` otherwise (a listing of files, a request body): the docs tests name each one, so
  that a command of a program missing from ``PROGRAMS`` cannot pass unseen.

``python`` and ``toml`` blocks keep their own kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL = {"", "sh", "shell", "bash", "console"}
#: The programs the docs' commands call (a fixed list: what is installed must not change the kinds).
PROGRAMS = {"genforge", "genforge-run", "python", "pip", "make", "ls", "torchrun", "tensorboard", "hf"}
#: Optional arguments of a synopsis: ``[--seed S]``, ``[CONFIG.toml]``, ``[available]``.
OPTIONAL = re.compile(r"(?:^|\s)\[[^\]]*\]")


@dataclass
class Block:
    """One fenced block: its page, first line (1-based, the fence), kind and text."""

    doc: str
    line: int
    lang: str
    text: str
    kind: str = "other"

    def lines(self) -> list[str]:
        """The logical lines: ``\\`` continuations and indented synopsis lines joined, blank ones dropped."""
        out: list[str] = []
        joined = False
        for raw in self.text.splitlines():
            if not raw.strip():
                continue
            if out and (joined or raw[:1].isspace()):
                out[-1] = f"{out[-1]} {raw.strip()}"
            else:
                out.append(raw.rstrip())
            joined = out[-1].endswith("\\")
            out[-1] = out[-1].removesuffix("\\").rstrip()
        return out


def without_comment(line: str) -> str:
    """``line`` up to a ``#`` that starts a shell comment (outside quotes, after a blank)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def program(line: str) -> str:
    """The program ``line`` runs: its first word after ``NAME=value`` assignments ("" if none)."""
    words = [w for w in without_comment(line).split() if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", w)]
    return words[0] if words else ""


def blocks(root: Path, doc: str) -> list[Block]:
    """The fenced blocks of ``root/doc``, each with its kind."""
    found: list[Block] = []
    fence: Block | None = None
    body: list[str] = []
    gap = True  # only blank lines since the previous block closed
    for number, line in enumerate((root / doc).read_text().splitlines(), 1):
        if fence is None:
            if line.startswith("```"):
                fence, body = Block(doc, number, line[3:].strip().lower(), ""), []
            elif line.strip():
                gap = False
            continue
        if line.startswith("```"):
            fence.text = "\n".join(body) + "\n"
            fence.kind = kind_of(fence, found[-1] if found and gap else None)
            found.append(fence)
            fence, gap = None, True
        else:
            body.append(line)
    return found


def kind_of(block: Block, before: Block | None) -> str:
    """``block``'s kind; ``before`` is the block right above it when only blank lines part them."""
    if block.lang not in SHELL:
        return block.lang
    lines = block.lines()
    if lines and all(program(line) in PROGRAMS for line in lines):
        return "synopsis" if any(OPTIONAL.search(without_comment(line)) for line in lines) else "commands"
    if before is not None and before.kind in ("commands", "python"):
        return "output"
    return "other"


def shown_pattern(shown: str) -> re.Pattern[str]:
    """A regex for output shown in the docs: ``...`` matches any text within a line, a line of
    ``...`` alone any number of lines; trailing blanks of each line are ignored."""
    parts = []
    for line in shown.rstrip("\n").splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(re.escape(p) for p in line.rstrip().split("...")) + r"[ \t]*\n")
    return re.compile("".join(parts))


def same_output(shown: str, real: str) -> bool:
    """Whether ``real`` output is what the docs show (see ``shown_pattern``)."""
    real = "\n".join(line.rstrip() for line in real.rstrip("\n").splitlines()) + "\n"
    return shown_pattern(shown).fullmatch(real) is not None
