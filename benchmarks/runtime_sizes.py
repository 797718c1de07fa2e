"""Installed size of genforge-runtime with each onnxruntime extra, in throwaway virtualenvs.

    python benchmarks/runtime_sizes.py [--extras none cpu gpu]

For each extra: a fresh virtualenv, ``pip install 'exporters/runtime[EXTRA]'`` (``none``:
no extra), then the size of its site-packages minus that of an empty virtualenv's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tree_bytes(folder: Path) -> int:
    """Bytes of all regular files under ``folder`` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def site_packages(venv: Path) -> Path:
    """The site-packages folder of ``venv``."""
    return next((venv / "lib").glob("python*/site-packages"))


def venv_with(tmp: Path, name: str, requirement: str | None) -> int:
    """Bytes in the site-packages of a new virtualenv holding ``requirement`` (None: nothing)."""
    venv = tmp / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if requirement is not None:
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", requirement], check=True)
    return tree_bytes(site_packages(venv))


def main() -> None:
    """Print one line per extra: the installed size in MB and the packages it brought."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", nargs="+", default=["none", "cpu", "gpu"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="genforge-sizes-") as tmp:
        empty = venv_with(Path(tmp), "empty", None)
        for extra in args.extras:
            name = "genforge-runtime" + (f"[{extra}]" if extra != "none" else "")
            requirement = str(ROOT / "exporters" / "runtime") + name.removeprefix("genforge-runtime")
            size = venv_with(Path(tmp), extra, requirement) - empty
            print(f"{name}: {size / 1e6:.0f} MB installed")


if __name__ == "__main__":
    main()
