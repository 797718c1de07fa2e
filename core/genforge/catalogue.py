"""The plugin catalogue (``registry.toml``): its schema and reader.

Every field that reaches pip is checked here so that a catalogue, the bundled one or one
given with ``--registry``, can name a distribution and a local folder but never a pip
option: ``requirement`` must be a plain PEP 508 requirement (no URL, no ``-``), and
``source`` a relative folder that does not start with ``-``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from genforge.config import read_toml
from genforge.errors import ConfigError

BUNDLED = Path(__file__).with_name("registry.toml")
#: What an entry may list, by registry kind (the keys of ``genforge.plugins.REGISTRIES``).
PROVIDED_KINDS = ("models", "data_sources", "exporters", "metrics", "feature_extractors")


def refuse_option(value: str, what: str) -> str:
    """``value`` unchanged, or a ``ValueError`` when pip would read it as an option."""
    if value.lstrip().startswith("-"):
        raise ValueError(f"{what} {value!r} starts with '-', which pip would read as an option")
    return value


class CatalogueEntry(BaseModel):
    """One ``[[plugin]]`` table of ``registry.toml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    requirement: str = Field(description="what pip installs from an index, e.g. 'genforge-gan>=0.1,<0.2'")
    source: str | None = Field(None, description="a folder relative to the catalogue, used when it exists")
    models: list[str] = Field(default_factory=list)
    data_sources: list[str] = Field(default_factory=list)
    exporters: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    feature_extractors: list[str] = Field(default_factory=list)
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

    @field_validator("requirement")
    @classmethod
    def _requirement(cls, value: str) -> str:
        from packaging.requirements import InvalidRequirement, Requirement

        refuse_option(value, "requirement")
        try:
            req = Requirement(value)
        except InvalidRequirement:
            raise ValueError(f"{value!r} is not a pip requirement such as 'genforge-gan>=0.1,<0.2'") from None
        if req.url:
            raise ValueError(f"{value!r}: a catalogue requirement installs from an index, not a URL")
        return value

    @field_validator("source")
    @classmethod
    def _relative_folder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        refuse_option(value, "source")
        if not value.strip() or Path(value).is_absolute() or value.startswith("~") or "://" in value:
            raise ValueError(f"{value!r}: must be a folder relative to the catalogue file")
        return value

    @model_validator(mode="after")
    def _provides_something(self) -> CatalogueEntry:
        if not any(self.provides().values()):
            raise ValueError(f"lists nothing it provides; name at least one of {', '.join(PROVIDED_KINDS)}")
        return self

    @property
    def distribution(self) -> str:
        """The distribution name of ``requirement``."""
        from packaging.requirements import Requirement

        return Requirement(self.requirement).name

    def provides(self) -> dict[str, list[str]]:
        """The names it registers, by kind (kinds it lists nothing for left out)."""
        return {kind: names for kind in PROVIDED_KINDS if (names := getattr(self, kind))}

    def local_folder(self, folder: Path) -> Path | None:
        """``source`` resolved against the catalogue's ``folder`` when it holds a project (a checkout)."""
        if self.source is None:
            return None
        path = (folder / self.source).resolve()
        return path if (path / "pyproject.toml").is_file() else None


def catalogue_folder(path: Path | None = None) -> Path:
    """The folder relative sources resolve against: the catalogue file's own (symlinks followed)."""
    return (path or BUNDLED).resolve().parent


def read_catalogue(path: Path | None = None) -> list[CatalogueEntry]:
    """Read and validate a catalogue file (the bundled one by default)."""
    p = path or BUNDLED
    data = read_toml(p, "catalogue")
    entries = []
    tables = data.get("plugin", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{p}: plugin: expected [[plugin]] tables")
    for i, table in enumerate(tables):
        try:
            entries.append(CatalogueEntry.model_validate(table))
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"{p}: plugin[{i}]{'.' if loc else ''}{loc}: {err['msg']}") from None
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{p}: plugin name {twice[0]!r} is catalogued twice")
    return entries
