"""The plugin catalogue (``registry.toml``): its schema and reader."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from genforge.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BUNDLED = Path(__file__).with_name("registry.toml")


class CatalogueEntry(BaseModel):
    """One ``[[plugin]]`` table of ``registry.toml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    distribution: str
    source: str
    kind: Literal["model-family", "data-source", "exporter", "metric", "commands"]
    models: list[str] = Field(default_factory=list)
    summary: str
    genforge: str = Field(description="supported genforge versions, a PEP 440 specifier")

    @field_validator("genforge")
    @classmethod
    def _specifier(cls, value: str) -> str:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise ValueError(f"{value!r} is not a PEP 440 version specifier such as '>=0.1,<0.2'") from None
        return value

    @field_validator("source")
    @classmethod
    def _nonempty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a folder or a pip requirement")
        return value

    def resolve_source(self, folder: Path) -> str:
        """What pip installs: a local path made absolute against ``folder``, or the requirement."""
        return resolve_source(self.source, folder)


def is_path(source: str) -> bool:
    """True when ``source`` names a local folder or file rather than a pip requirement."""
    if "://" in source or " @ " in source:
        return False
    return source.startswith((".", "/", "~")) or "/" in source or "\\" in source


def resolve_source(source: str, folder: Path) -> str:
    """A local ``source`` as an absolute path (relative ones against ``folder``); else unchanged."""
    if not is_path(source):
        return source
    return str((folder / Path(source).expanduser()).resolve())


def catalogue_folder(path: Path | None = None) -> Path:
    """The folder relative sources resolve against: the catalogue file's own (symlinks followed)."""
    return (path or BUNDLED).resolve().parent


def read_catalogue(path: Path | None = None) -> list[CatalogueEntry]:
    """Read and validate a catalogue file (the bundled one by default)."""
    p = path or BUNDLED
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: catalogue not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    entries = []
    for i, table in enumerate(data.get("plugin", [])):
        try:
            entries.append(CatalogueEntry.model_validate(table))
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"{p}: plugin[{i}].{loc}: {err['msg']}") from None
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{p}: plugin name {twice[0]!r} is catalogued twice")
    return entries
