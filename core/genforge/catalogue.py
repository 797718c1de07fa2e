"""The plugin catalogue (``registry.toml``): its schema and reader."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    return entries
