"""``genforge plugins install``: check a plugin's supported genforge range, then pip-install it.

A catalogued name installs from its ``source`` in ``registry.toml`` (a relative path
resolves against the catalogue's folder); ``--from`` installs from a path or a pip
requirement instead, and is the only way to install a name the catalogue lacks. pip
runs as ``sys.executable -m pip`` with genforge pinned to the running version, so an
install can never replace genforge itself.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from genforge import __version__
from genforge.catalogue import (
    BUNDLED,
    CatalogueEntry,
    catalogue_folder,
    is_path,
    read_catalogue,
    resolve_source,
)
from genforge.errors import GenforgeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class InstallPlan:
    """What ``genforge plugins install`` will hand to pip, and why it is allowed."""

    name: str
    target: str
    distribution: str | None
    checked: list[str]

    def pip_command(self, constraints: Path, editable: bool = False) -> list[str]:
        """``python -m pip install -c CONSTRAINTS [-e] TARGET``."""
        target = ["-e", self.target] if editable else [self.target]
        return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
                "-c", str(constraints), *target]


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


def plan_install(name: str, source: str | None = None, registry: Path | None = None) -> InstallPlan:
    """Decide what to install for ``name`` and check every genforge range that is known."""
    entry = _catalogued(name, registry)
    if entry is None and source is None:
        known = ", ".join(e.name for e in read_catalogue(registry)) or "none"
        raise GenforgeError(f"{name!r} is not in the catalogue {registry or BUNDLED} (catalogued: "
                            f"{known}); pass --from PATH_OR_REQUIREMENT to install it from elsewhere")
    checked = []
    if source is not None:  # the user's source: its own declared range counts, not the catalogue's
        target, where = resolve_source(source, Path.cwd()), "--from"
    else:
        assert entry is not None
        target = entry.resolve_source(catalogue_folder(registry))
        where = f"the catalogue's source {entry.source!r}"
        check_range(entry.genforge, f"plugin {name!r} ({entry.distribution}, per the catalogue)")
        checked.append(f"catalogue: genforge {entry.genforge}")
    distribution = entry.distribution if entry is not None else None
    if is_path(target):
        folder = Path(target)
        if not folder.exists():
            raise GenforgeError(f"{where} resolves to {folder}, which does not exist")
        dist, declared = project_metadata(folder)
        if source is None and dist is not None and dist != distribution:
            raise GenforgeError(f"{folder} holds distribution {dist!r}, but the catalogue lists "
                                f"{name!r} as {distribution!r}")
        if declared is not None:
            check_range(declared, f"{dist or folder} (per its pyproject.toml)")
            checked.append(f"pyproject.toml: genforge {declared}")
        distribution = dist or distribution
    return InstallPlan(name, target, distribution, checked)


def install(name: str, source: str | None = None, registry: Path | None = None,
            editable: bool = False, dry_run: bool = False) -> int:
    """Check and pip-install a plugin into this Python environment; return 0 or raise."""
    plan = plan_install(name, source, registry)
    if editable and not is_path(plan.target):
        raise GenforgeError("--editable needs a local folder, not a requirement")
    with tempfile.TemporaryDirectory(prefix="genforge-install-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(f"genforge=={__version__}\n")
        cmd = plan.pip_command(constraints, editable)
        checked = "; ".join(plan.checked) or "no genforge range declared"
        print(f"installing {name!r} from {plan.target} ({checked}; this is genforge {__version__})")
        if dry_run:
            print(shlex.join(cmd))
            return 0
        code = subprocess.call(cmd, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    if code != 0:
        raise GenforgeError(f"pip could not install {plan.target} (exit {code}); see pip's output above")
    print(f"installed {name!r}" + (f" ({plan.distribution})" if plan.distribution else "")
          + "; `genforge plugins` lists what it registers")
    return 0
