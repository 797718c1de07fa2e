"""Samples as tar members (numpy and PIL, no torch): written, read back and checked.

A sample is a group of consecutive members sharing a key: ``KEY.png`` (an 8-bit grayscale or
RGB image, lossless) or ``KEY.npy`` (float32, written and read without pickle), plus ``KEY.cls``
(the label as decimal text) for labelled data. Reading never extracts to disk and refuses, in
one line naming the shard and the member, what a shard of ours never holds: links and other
non-files, absolute names or names with ``..``, unexpected extensions, members larger than a
sample can be, undecodable or mismatched contents, and a truncated file.
"""

from __future__ import annotations

import io
import math
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.data.info import DataInfo
from genforge.errors import DataError, one_line, printable

#: The longest label member: a decimal class index and a line break.
MAX_LABEL_BYTES = 32
#: Room beyond a sample's raw bytes: a PNG's or an .npy file's headers (a PNG of noise is about raw size).
SLACK = 64 << 10
LABEL = re.compile(r"\d{1,18}")
#: Tolerance on ``DataInfo.value_range`` for rounding, as the data checks allow.
TOLERANCE = 1e-4


@dataclass(frozen=True)
class RawSample:
    """One sample's members as stored (``{extension: bytes}``) and where it came from."""

    shard: str
    key: str
    members: dict[str, bytes]


def data_extension(info: DataInfo) -> str:
    """The member that holds a sample: ``png`` for images, ``npy`` for vectors and signals."""
    return "png" if info.kind == "image" else "npy"


def encode(x: np.ndarray, label: int | None, info: DataInfo) -> dict[str, bytes]:
    """A sample's members: ``x`` is uint8 ``[C, H, W]`` for images, else float32 of ``info.shape``."""
    from PIL import Image

    buf = io.BytesIO()
    if info.kind == "image":
        pixels = x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)
        Image.fromarray(np.ascontiguousarray(pixels), "L" if x.shape[0] == 1 else "RGB").save(buf, "PNG")
    else:
        np.save(buf, np.ascontiguousarray(x, dtype="<f4"), allow_pickle=False)
    members = {data_extension(info): buf.getvalue()}
    if label is not None:
        members["cls"] = f"{label}".encode()
    return members


def add_sample(tar: tarfile.TarFile, key: str, members: dict[str, bytes]) -> None:
    """Append one sample's members to ``tar``: regular files, fixed owner and time (reproducible packs)."""
    for ext, data in members.items():
        member = tarfile.TarInfo(f"{key}.{ext}")
        member.size, member.mode, member.mtime = len(data), 0o444, 0
        tar.addfile(member, io.BytesIO(data))


def decode(raw: RawSample, info: DataInfo) -> tuple[np.ndarray, int | None]:
    """A sample as uint8 ``[C, H, W]`` pixels (images) or float32 of ``info.shape``, and its label."""
    ext = data_extension(info)
    x = _image(raw, info) if ext == "png" else _array(raw, info)
    if not info.num_classes:
        return x, None
    text = raw.members["cls"].decode("ascii", "replace").strip()
    if not LABEL.fullmatch(text) or int(text) >= info.num_classes:
        raise DataError(f"{_where(raw, 'cls')}: label {printable(repr(text))} is not an integer "
                        f"0..{info.num_classes - 1}")
    return x, int(text)


def _where(raw: RawSample, ext: str) -> str:
    """The shard and member of a message."""
    return f"{raw.shard}: member {printable(raw.key)}.{ext}"


def _image(raw: RawSample, info: DataInfo) -> np.ndarray:
    """A PNG member as uint8 ``[C, H, W]``, its size and mode checked before its pixels are decoded."""
    from PIL import Image

    c, h, w = info.shape
    mode = "L" if c == 1 else "RGB"
    try:
        with Image.open(io.BytesIO(raw.members["png"]), formats=["PNG"]) as img:
            if img.size != (w, h) or img.mode != mode:
                raise DataError(f"{_where(raw, 'png')}: a {img.size[0]}x{img.size[1]} {img.mode} PNG; "
                                f"info.json says {w}x{h} {mode}")
            pixels = np.asarray(img, dtype=np.uint8)
    except DataError:
        raise
    except Exception as e:  # PIL raises OSError, ValueError, SyntaxError, ... on a bad file
        raise DataError(f"{_where(raw, 'png')}: not a readable PNG ({one_line(e)})") from None
    return pixels[None] if c == 1 else pixels.transpose(2, 0, 1)


def _array(raw: RawSample, info: DataInfo) -> np.ndarray:
    """An ``.npy`` member read without pickle: float32 of ``info.shape``, finite, within the value range."""
    try:
        x = np.load(io.BytesIO(raw.members["npy"]), allow_pickle=False)
    except Exception as e:  # ValueError (pickled objects, a bad header), EOFError, ...
        raise DataError(f"{_where(raw, 'npy')}: not a readable .npy array ({one_line(e)})") from None
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.shape != tuple(info.shape):
        got = f"{x.dtype} {list(x.shape)}" if isinstance(x, np.ndarray) else type(x).__name__
        raise DataError(f"{_where(raw, 'npy')}: {got}; info.json says float32 {list(info.shape)}")
    if not np.isfinite(x).all():
        raise DataError(f"{_where(raw, 'npy')}: holds NaN or infinite values")
    if info.value_range is not None:
        lo, hi = info.value_range
        if x.min() < lo - TOLERANCE or x.max() > hi + TOLERANCE:
            raise DataError(f"{_where(raw, 'npy')}: values span [{x.min():g}, {x.max():g}]; info.json says "
                            f"[{lo:g}, {hi:g}]")
    return x


def read_samples(path: Path, expected: int, info: DataInfo) -> Iterator[RawSample]:
    """The samples of one shard, in order, as stored; the shard must hold ``expected`` of them."""
    shard = str(path)
    allowed = {data_extension(info): _size_limit(info)}
    if info.num_classes:
        allowed["cls"] = MAX_LABEL_BYTES
    try:
        tar = tarfile.open(path, mode="r:")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"{shard}: not a readable tar file ({one_line(e)})") from None
    seen: set[str] = set()
    key, last = "", "its start"
    members: dict[str, bytes] = {}
    with tar:
        while True:
            try:
                member = tar.next()
            except (tarfile.TarError, OSError, EOFError) as e:
                raise DataError(f"{shard}: unreadable after member {printable(last)} "
                                f"({one_line(e)})") from None
            if member is None:
                break
            last = member.name
            k, ext = _key(member, shard, allowed)
            if k != key:
                if members:
                    yield _complete(shard, key, members, allowed)
                if k in seen:
                    raise DataError(f"{shard}: member {printable(last)}: key {printable(k)!r} appears twice, "
                                    "apart")
                seen.add(k)
                key, members = k, {}
            if ext in members:
                raise DataError(f"{shard}: member {printable(last)}: a second .{ext} member of key "
                                f"{printable(k)!r}")
            try:
                members[ext] = tar.extractfile(member).read()  # type: ignore[union-attr]  # a file: isfile()
            except (tarfile.TarError, OSError, EOFError) as e:
                raise DataError(f"{shard}: member {printable(last)}: truncated ({one_line(e)})") from None
        if members:
            yield _complete(shard, key, members, allowed)
    if len(seen) != expected:
        raise DataError(f"{shard}: holds {len(seen)} samples, but info.json says {expected} (a truncated or "
                        "replaced shard?)")


def _size_limit(info: DataInfo) -> int:
    """The largest member a sample of ``info`` can need: its raw bytes (float32 for arrays) plus headers."""
    itemsize = 1 if info.kind == "image" else 4
    return math.prod(info.shape) * itemsize * 2 + SLACK


def _key(member: tarfile.TarInfo, shard: str, allowed: dict[str, int]) -> tuple[str, str]:
    """A member's sample key and extension, once its kind, name, extension and size are checked."""
    name = member.name
    parts = name.split("/")
    stem, dot, ext = parts[-1].partition(".")
    ext = ext.lower()
    if member.isfile() and len(parts) == 1 and stem and member.size <= allowed.get(ext, -1):
        return stem, ext  # the usual member, checked at once
    where = f"{shard}: member {printable(name)}"
    if not member.isfile():
        kind = ("a symbolic link" if member.issym() else "a hard link" if member.islnk() else
                "a folder" if member.isdir() else "a device, FIFO or other special file")
        raise DataError(f"{where}: is {kind}; shards hold regular files only")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise DataError(f"{where}: an absolute name or one with '.' or '..' parts; expected relative "
                        "names such as 000123.png")
    if not stem or ext not in allowed:
        raise DataError(f"{where}: extension {'.' + ext if dot else '(none)'} is not one of "
                        f"{', '.join('.' + e for e in allowed)} (what this data's shards hold)")
    if member.size > allowed[ext]:
        raise DataError(f"{where}: {member.size} bytes, more than a .{ext} of this data can need "
                        f"({allowed[ext]})")
    return "/".join([*parts[:-1], stem]), ext


def _complete(shard: str, key: str, members: dict[str, bytes], allowed: dict[str, int]) -> RawSample:
    """``members`` as a sample, once every member the data needs is there."""
    missing = [ext for ext in allowed if ext not in members]
    if missing:
        raise DataError(f"{shard}: sample {printable(key)!r} has no .{missing[0]} member")
    return RawSample(shard, key, members)
