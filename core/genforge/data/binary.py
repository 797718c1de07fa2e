"""Reading binary data files, plain or ``.gz``, in exact byte counts with one-line errors.

A file shorter than what it declares, a truncated or corrupt ``.gz``, or bytes past the
declared end are ``DataError``s naming the file. Nothing larger than the file can hold is
allocated: a plain file's size bounds each read, and a ``.gz`` file's size times
deflate's largest expansion bounds what it can decompress to.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from genforge.errors import DataError, one_line
from genforge.files import regular_file

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")

#: Deflate's largest expansion: 258 bytes from one code of a little over two bits.
GZIP_MAX_RATIO = 1032
#: Bytes decompressed per read.
CHUNK = 1 << 24


def plain_or_gz(folder: Path, name: str) -> Path | None:
    """``folder/name``, else ``folder/name.gz``, whichever is a file (the plain one first)."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


class DataFile:
    """One binary file opened for exact reads; ``.gz`` names are decompressed as they are read."""

    def __init__(self, path: Path, raw: BinaryIO) -> None:
        self.path = path
        self.compressed = path.name.endswith(".gz")
        self.size = os.fstat(raw.fileno()).st_size
        self.offset = 0
        self._stream: BinaryIO = gzip.GzipFile(fileobj=raw) if self.compressed else raw  # type: ignore[assignment]

    def close(self) -> None:
        """Close the decompressing stream (the caller closes the file under it)."""
        self._stream.close()

    def error(self, message: str) -> DataError:
        """A ``DataError`` naming this file."""
        return DataError(f"{self.path}: {message}")

    def _guard(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)``, with the stream's errors turned into one line naming the file."""
        try:
            return fn(*args)
        except EOFError as e:
            raise self.error(f"truncated .gz ({one_line(e)})") from e
        except (gzip.BadGzipFile, zlib.error) as e:
            raise self.error(f"corrupt .gz ({one_line(e)})") from e
        except OSError as e:
            raise self.error(f"cannot read ({e.strerror or one_line(e)})") from e

    def _room(self) -> int:
        """The most bytes the rest of the file can hold (decompressed, for a ``.gz``)."""
        if self.compressed:
            return self.size * GZIP_MAX_RATIO
        return self.size - self.offset

    def read(self, n: int, what: str) -> bytes:
        """Exactly ``n`` bytes (a header, say) or a ``DataError`` saying where the file ended."""
        return bytes(self.read_array(n, what))

    def read_array(self, n: int, what: str) -> np.ndarray:
        """Exactly ``n`` bytes as a uint8 array, or a ``DataError`` saying the file is short."""
        import numpy as np

        if n > self._room():
            if self.compressed:
                raise self.error(f"the {what} would take {n} bytes, more than a .gz of {self.size} "
                                 "bytes can hold: the header is wrong or the file is truncated")
            raise self.error(f"holds {self._room()} bytes of {what} where {n} are expected: "
                             "truncated, or the header is wrong")
        out = np.empty(n, dtype=np.uint8)
        view = out.data
        got = 0
        while got < n:
            count = self._guard(self._stream.readinto, view[got: got + CHUNK])  # type: ignore[attr-defined]
            if not count:
                raise self.error(f"ends {n - got} bytes short of the {what} (after {self.offset + got} "
                                 "bytes): truncated, or the header is wrong")
            got += count
        self.offset += n
        return out

    def expect_end(self, what: str) -> None:
        """A ``DataError`` unless the file ends here (a ``.gz`` is also checked against its CRC)."""
        extra = self._guard(self._stream.read, 1) if self.compressed else self.size > self.offset
        if extra:
            raise self.error(f"has bytes past the {what} its header declares: the header or "
                             "the file is wrong")


@contextmanager
def open_data(path: Path) -> Iterator[DataFile]:
    """Open a regular file for exact reads (``DataError`` when missing or unreadable)."""
    regular_file(path, "data file", DataError)
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot open ({e.strerror or one_line(e)})") from e
    with raw:
        file = DataFile(path, raw)
        try:
            yield file
        finally:
            file.close()
