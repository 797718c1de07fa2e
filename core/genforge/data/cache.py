"""The on-disk cache of a folder source: its files decoded once into a ``.npy`` file that later
starts map read-only (never pickle) instead of decoding again.

An entry is a folder ``ROOT/SOURCE-FOLDER-KEY/`` holding ``samples.npy`` (one decoded row per
file, in the order given: the sources give the training split first, then the held-out one)
and ``meta.json``. ``KEY`` hashes the source, its resolved folder and its decode options;
``meta.json`` records those, the array's shape and dtype, and a digest of every file's path,
size and modification time (ns). An entry whose ``meta.json`` is not what the folder and the
options give now, or whose array is not of the recorded shape, dtype and size, is rebuilt.
A build decodes a chunk of files at a time and appends it to the file (memory does not grow
with the data), under a temporary name renamed into place at the end: an interrupted build
leaves nothing that a later start trusts, and the next build of that entry deletes what a
killed one left (``.NAME.tmp-PID-*`` of a process no longer running).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.errors import DataError, GenforgeError, one_line
from genforge.files import regular_file
from genforge_runtime.npy import write_npy
from genforge_runtime.sizes import gather, size_text

#: Bumped when the layout of an entry changes (older entries are then rebuilt).
VERSION = 1
SAMPLES = "samples.npy"
META = "meta.json"
#: Files decoded per chunk: what a build (or an in-memory decode) holds besides its output.
CHUNK = 256
#: ``meta.json`` files longer than this are not read (an entry's is a few hundred bytes).
META_LIMIT = 1 << 16
#: The ``data.cache`` settings that are not folders.
AUTO, OFF = "auto", "off"


@dataclass(frozen=True)
class Rows:
    """What a folder source decodes: a row of ``shape`` and ``dtype`` per file, in the order of ``files``."""

    source: str
    folder: Path
    files: list[Path]
    shape: tuple[int, ...]
    dtype: np.dtype
    options: dict[str, object]  # the options the rows depend on
    decode: Callable[[Path], np.ndarray] = field(compare=False)


def cache_root(setting: str) -> Path | None:
    """The folder of a ``data.cache`` setting: ``off`` None; ``auto`` ``$XDG_CACHE_HOME/genforge/data``
    (``~/.cache/genforge/data`` when unset or relative); else the folder named."""
    if setting == OFF:
        return None
    if setting == AUTO:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
        return base / "genforge" / "data"
    return Path(setting).expanduser()


def load_rows(rows: Rows, setting: str) -> tuple[np.ndarray, bool]:
    """The decoded rows and whether they are mapped from the cache of ``setting`` (built when
    missing or stale); with ``off``, decoded into memory."""
    root = cache_root(setting)
    if root is None:
        return gather(len(rows.files), rows.shape, rows.dtype, _decoded(rows)), False
    want = _meta(rows)
    entry = root / _entry_name(rows)
    x, problem = _mapped(entry, want, rows)
    if x is not None:
        return x, True
    if problem is not None:
        warnings.warn(f"data cache {entry}: {problem}; rebuilding it", stacklevel=2)
    _build(root, entry, want, rows, setting)
    x, problem = _mapped(entry, want, rows)
    if x is None:
        raise DataError(f"data.cache {setting!r}: the entry just built at {entry} cannot be read back "
                        f"({problem}); set data.cache = 'off' to decode in memory")
    return x, True


def _decoded(rows: Rows) -> Iterator[np.ndarray]:
    """The rows, decoded ``CHUNK`` files at a time, with a progress bar on a terminal's stderr."""
    from tqdm import tqdm

    n = len(rows.files)
    with tqdm(total=n, desc=f"decoding {rows.folder.name or rows.folder}", unit="file", file=sys.stderr,
              disable=None, dynamic_ncols=True) as bar:  # disable=None: quiet unless stderr is a terminal
        for start in range(0, n, CHUNK):
            part = rows.files[start: start + CHUNK]
            out = np.empty((len(part), *rows.shape), dtype=rows.dtype)
            for i, f in enumerate(part):
                out[i] = rows.decode(f)
                bar.update(1)
            yield out


def _fingerprint(rows: Rows) -> str:
    """SHA-256 of every file's path (relative to the folder), size and modification time, in order."""
    digest = hashlib.sha256()
    prefix = os.path.join(str(rows.folder), "")
    for f in rows.files:
        path = str(f)
        try:
            st = os.stat(path)
        except OSError as e:
            raise DataError(f"{rows.source} file {path!r}: cannot be read ({one_line(e)})") from None
        name = path[len(prefix):] if path.startswith(prefix) else str(f.relative_to(rows.folder))
        digest.update(b"%s\0%d\0%d\n" % (name.encode("utf-8", "surrogateescape"), st.st_size, st.st_mtime_ns))
    return digest.hexdigest()


def _key(rows: Rows) -> dict[str, object]:
    """What names an entry: the source, its resolved folder and its options."""
    return {"version": VERSION, "source": rows.source, "folder": str(rows.folder.resolve()),
            "options": rows.options}


def _entry_name(rows: Rows) -> str:
    """``SOURCE-FOLDER-KEY``: readable, and unique per key."""
    key = hashlib.sha256(json.dumps(_key(rows), sort_keys=True).encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", rows.folder.resolve().name)[:40].lstrip(".") or "folder"
    return f"{rows.source}-{name}-{key}"


def _meta(rows: Rows) -> dict[str, object]:
    """What a valid entry's ``meta.json`` holds for these rows now."""
    return {**_key(rows), "shape": [len(rows.files), *rows.shape], "dtype": rows.dtype.str,
            "files": _fingerprint(rows)}


def _mapped(entry: Path, want: dict[str, object], rows: Rows) -> tuple[np.ndarray | None, str | None]:
    """The entry's rows mapped, when it matches ``want``; else None and what is wrong (None: no entry)."""
    if not entry.exists():
        return None, None
    try:
        with regular_file(entry / META, "cache file", DataError).open("rb") as f:
            raw = f.read(META_LIMIT + 1)
        meta = json.loads(raw) if len(raw) <= META_LIMIT else None
    except (OSError, ValueError, GenforgeError) as e:
        return None, f"{META} cannot be read ({one_line(e)})"
    if meta != want:
        return None, "its files, their sizes or times, or its record changed since it was built"
    shape = (len(rows.files), *rows.shape)
    try:
        path = regular_file(entry / SAMPLES, "cache file", DataError)
        # copy-on-write: the file is never written, and a stray in-place write cannot crash the process
        x = np.load(path, mmap_mode="c", allow_pickle=False)
        size = path.stat().st_size
    except (OSError, ValueError, EOFError, GenforgeError) as e:
        return None, f"{SAMPLES} cannot be read ({one_line(e)})"
    if not isinstance(x, np.memmap) or x.dtype != rows.dtype or x.shape != shape or \
            size != x.offset + x.nbytes:
        got = f"{x.dtype} {list(x.shape)} in {size} bytes" if isinstance(x, np.ndarray) else type(x).__name__
        return None, f"{SAMPLES} holds {got}, expected {rows.dtype} {list(shape)}"
    return x, None


def _build(root: Path, entry: Path, want: dict[str, object], rows: Rows, setting: str) -> None:
    """Decode the rows into a new entry: written under a temporary name, renamed into place at the end."""
    where = f"data.cache {setting!r} ({root})"
    fix = "free space, name another folder with data.cache = DIR, or decode in memory with data.cache = 'off'"
    need = len(rows.files) * math.prod(rows.shape) * rows.dtype.itemsize
    try:
        root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(root).free
        if need > free:
            raise DataError(f"{where}: the cache of {len(rows.files)} files needs {size_text(need)}, but "
                            f"its disk has {size_text(free)} free; {fix}")
        _remove_leftovers(entry)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-{os.getpid()}-", dir=root))
    except OSError as e:
        raise DataError(f"{where}: cannot write the cache ({one_line(e)}); {fix}") from None
    try:
        write_npy(tmp / SAMPLES, (len(rows.files), *rows.shape), rows.dtype, _decoded(rows))
        (tmp / META).write_text(json.dumps(want, indent=1) + "\n")
        _install(tmp, entry)
    except OSError as e:
        raise DataError(f"{where}: cannot write the cache ({one_line(e)}); {fix}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone after a rename; a failed build's partial entry


def _remove_leftovers(entry: Path) -> None:
    """Delete the temporary folders of ``entry`` that builds of processes no longer running left."""
    for p in entry.parent.glob(f".{glob.escape(entry.name)}.*-*-*"):
        found = re.fullmatch(rf"\.{re.escape(entry.name)}\.(?:tmp|old)-(\d+)-\w+", p.name)
        if found is None:
            continue
        try:
            os.kill(int(found.group(1)), 0)
        except ProcessLookupError:  # that build was killed: nothing uses its folder
            shutil.rmtree(p, ignore_errors=True)
        except (OSError, OverflowError):  # a process of another user, or not a pid: left alone
            continue


def _install(tmp: Path, entry: Path) -> None:
    """Rename the built folder ``tmp`` to ``entry``, replacing an older entry of that name."""
    old = None
    if entry.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{entry.name}.old-{os.getpid()}-", dir=entry.parent))
        with contextlib.suppress(FileNotFoundError):  # another build may have moved it already
            entry.rename(old / "entry")
    try:
        tmp.rename(entry)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
