"""``genforge plugins install`` / ``uninstall``: check a plugin's genforge range, then run pip.

A catalogued name installs from its ``source`` folder when that exists (a checkout of
the repository) and otherwise from its ``requirement`` on an index; ``--from`` installs
from a path or a pip requirement instead, and is the only way to install a name the
catalogue lacks. pip runs as ``sys.executable -m pip`` with ``genforge==`` the running
version among its requirements (already satisfied), so an install can never replace
genforge itself; the command holds no temporary file, so the one ``--dry-run`` prints
runs as printed. The target follows ``--`` and nothing that starts with ``-`` is accepted
as one, so no catalogue and no ``--from`` value can pass pip an option.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from genforge import __version__
from genforge.catalogue import BUNDLED, CatalogueEntry, catalogue_folder, read_catalogue, refuse_option
from genforge.errors import GenforgeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", *args]


def _run_pip(cmd: list[str], what: str) -> None:
    """Run pip; a failure is a one-line error (pip has printed the details)."""
    code = subprocess.call(cmd, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    if code != 0:
        raise GenforgeError(f"pip could not {what} (exit {code}); see pip's output above")


@dataclass
class InstallPlan:
    """What ``genforge plugins install`` will hand to pip, and why it is allowed."""

    name: str
    target: str
    distribution: str | None
    checked: list[str]
    local: bool = False
    index_options: list[str] = field(default_factory=list)

    def pip_command(self, editable: bool = False) -> list[str]:
        """``python -m pip install [INDEX OPTIONS] -- TARGET genforge==VERSION`` (``--editable=TARGET``)."""
        target = [f"--editable={self.target}", "--"] if editable else ["--", self.target]
        return _pip("install", "--disable-pip-version-check", *self.index_options, *target,
                    f"genforge=={__version__}")


def check_range(specifier: str, who: str) -> None:
    """Refuse, with one line, a plugin whose supported genforge range excludes this genforge."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        raise GenforgeError(f"{who}: supported genforge range {specifier!r} is not a valid "
                            "version specifier") from None
    if not spec.contains(Version(__version__), prereleases=True):
        raise GenforgeError(f"{who} supports genforge {specifier}, but this is genforge "
                            f"{__version__}; not installing it (use a release of it made for "
                            f"genforge {__version__})")


def project_metadata(folder: Path) -> tuple[str | None, str | None]:
    """A local project's distribution name and its declared genforge range (None when absent)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return None, None
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except tomllib.TOMLDecodeError as e:
        raise GenforgeError(f"{pyproject}: not valid TOML: {e}") from None
    for text in project.get("dependencies", []):
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == "genforge":
            return project.get("name"), str(req.specifier) or None
    return project.get("name"), None


def _catalogued(name: str, registry: Path | None) -> CatalogueEntry | None:
    return next((e for e in read_catalogue(registry) if e.name == name), None)


def _checked_source(source: str) -> str:
    """A ``--from`` value: an absolute path for a local one, else a pip requirement (never an option)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        refuse_option(source, "--from")
    except ValueError as e:
        raise GenforgeError(str(e)) from None
    path = Path(source).expanduser()
    url = "://" in source or " @ " in source
    if not url and (path.exists() or source.startswith((".", "/", "~")) or "/" in source or "\\" in source):
        return str(path.resolve())
    try:
        Requirement(source)
    except InvalidRequirement:
        raise GenforgeError(f"--from {source!r}: neither an existing folder nor a pip requirement such "
                            "as 'genforge-x>=0.1'") from None
    return source


def index_options(find_links: Sequence[str] = (), no_index: bool = False) -> list[str]:
    """pip's ``--find-links=...`` / ``--no-index`` for the user's own wheelhouse."""
    links = [f"--find-links={Path(v).resolve() if Path(v).exists() else v}" for v in find_links]
    return links + (["--no-index"] if no_index else [])


def plan_install(name: str, source: str | None = None, registry: Path | None = None) -> InstallPlan:
    """Decide what to install for ``name`` and check every genforge range that is known."""
    entry = _catalogued(name, registry)
    if entry is None and source is None:
        known = ", ".join(e.name for e in read_catalogue(registry)) or "none"
        raise GenforgeError(f"{name!r} is not in the catalogue {registry or BUNDLED} (catalogued: "
                            f"{known}); pass --from PATH_OR_REQUIREMENT to install it from elsewhere")
    checked = []
    distribution = entry.distribution if entry is not None else None
    folder: Path | None = None
    if source is not None:  # the user's source: its own declared range counts, not the catalogue's
        target = _checked_source(source)
        if Path(target).is_absolute():
            folder = Path(target)
            if not folder.exists():
                raise GenforgeError(f"--from {source!r}: {folder} does not exist")
    else:
        assert entry is not None
        check_range(entry.genforge, f"plugin {name!r} ({entry.distribution}, per the catalogue)")
        checked.append(f"catalogue: genforge {entry.genforge}")
        folder = entry.local_folder(catalogue_folder(registry))
        target = str(folder) if folder is not None else entry.requirement
    if folder is not None:
        dist, declared = project_metadata(folder)
        if source is None and dist != distribution:
            raise GenforgeError(f"{folder} holds distribution {dist!r}, but the catalogue lists "
                                f"{name!r} as {distribution!r}")
        if declared is not None:
            check_range(declared, f"{dist or folder} (per its pyproject.toml)")
            checked.append(f"pyproject.toml: genforge {declared}")
        distribution = dist or distribution
    return InstallPlan(name, target, distribution, checked, local=folder is not None)


def install(name: str, source: str | None = None, registry: Path | None = None,
            editable: bool = False, dry_run: bool = False, find_links: Sequence[str] = (),
            no_index: bool = False) -> int:
    """Check and pip-install a plugin into this Python environment; return 0 or raise."""
    plan = plan_install(name, source, registry)
    if editable and not plan.local:
        raise GenforgeError("--editable needs a local folder, not a requirement")
    plan.index_options = index_options(find_links, no_index)
    cmd = plan.pip_command(editable)
    checked = "; ".join(plan.checked) or "no genforge range declared"
    print(f"installing {name!r} from {plan.target} ({checked}; this is genforge {__version__})")
    if dry_run:
        print(shlex.join(cmd))
        return 0
    _run_pip(cmd, f"install {plan.target}")
    print(f"installed {name!r}" + (f" ({plan.distribution})" if plan.distribution else "")
          + "; `genforge plugins` lists what it registers")
    return 0


def installed_distribution(name: str, registry: Path | None = None,
                           plugin_dists: dict[str, str] | None = None) -> str:
    """The installed distribution ``genforge plugins uninstall NAME`` means, or a one-line error.

    ``NAME`` is a catalogue name, a loaded plugin's entry-point name (``plugin_dists``
    maps those to distributions) or a distribution name.
    """
    from packaging.utils import canonicalize_name

    entry = _catalogued(name, registry)
    dist = entry.distribution if entry is not None else (plugin_dists or {}).get(name, name)
    if canonicalize_name(dist) == "genforge":
        raise GenforgeError("genforge plugins uninstall removes plugins, not genforge itself "
                            "(use pip uninstall genforge)")
    try:
        return metadata.distribution(dist).metadata["Name"]
    except metadata.PackageNotFoundError:
        raise GenforgeError(f"{name!r}: no installed distribution {dist!r} (`genforge plugins` "
                            "lists what is installed)") from None


def uninstall(name: str, registry: Path | None = None, plugin_dists: dict[str, str] | None = None,
              dry_run: bool = False) -> int:
    """pip-uninstall the distribution of a plugin from this Python environment; return 0 or raise."""
    dist = installed_distribution(name, registry, plugin_dists)
    cmd = _pip("uninstall", "--yes", "--disable-pip-version-check", "--", dist)
    print(f"uninstalling {name!r} ({dist})")
    if dry_run:
        print(shlex.join(cmd))
        return 0
    _run_pip(cmd, f"uninstall {dist}")
    print(f"uninstalled {name!r} ({dist})")
    return 0
