"""PCM WAV files as float arrays: reading 8/16/24/32-bit PCM, writing 16-bit (standard library ``wave``).

Samples are float32 ``[C, L]`` (channels, frames) in ``[-1, 1]``: signed PCM is divided by
its full scale (``2**(bits - 1)``), 8-bit PCM (unsigned) is centred on 128 first. Errors are
``ValueError`` with the reason on one line; callers add the file name.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Bytes per sample that ``read`` decodes (8-, 16-, 24- and 32-bit PCM).
SAMPLE_WIDTHS = (1, 2, 3, 4)
#: The bit depth ``write`` stores.
WRITE_WIDTH = 2


@dataclass(frozen=True)
class Header:
    """What a WAV file's header says: frames per second, channels, bytes per sample, frames."""

    rate: int
    channels: int
    width: int
    frames: int


def _open(path: Path) -> wave.Wave_read:
    """``path`` opened for reading; the ``wave`` module's errors become a one-line ``ValueError``."""
    try:
        return wave.open(str(path), "rb")
    except (wave.Error, EOFError) as e:
        raise ValueError(f"not a PCM WAV file ({' '.join(str(e).split()) or type(e).__name__}); "
                         "convert it to 8-, 16-, 24- or 32-bit PCM") from None


def _header(f: wave.Wave_read) -> Header:
    """The header of an open file, refusing what ``decode`` cannot read."""
    found = Header(f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes())
    if found.width not in SAMPLE_WIDTHS:
        raise ValueError(f"{8 * found.width}-bit samples; expected 8-, 16-, 24- or 32-bit PCM")
    if found.rate < 1 or found.channels < 1:
        raise ValueError(f"its header says {found.rate} Hz and {found.channels} channels")
    return found


def header(path: str | Path) -> Header:
    """The header of a PCM WAV file (``OSError`` when it cannot be opened)."""
    with _open(Path(path)) as f:
        return _header(f)


def decode(raw: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved little-endian PCM bytes as float32 ``[channels, frames]`` in ``[-1, 1]``."""
    data = np.frombuffer(raw, dtype=np.uint8)
    data = data[: len(data) - len(data) % (width * channels)]
    if width == 1:
        x = (data.astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = data.reshape(-1, 3).astype(np.int32)
        x = (((b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16) << 8) >> 8).astype(np.float32) / 2.0**23
    else:
        x = data.view(f"<i{width}").astype(np.float32) / np.float32(2.0 ** (8 * width - 1))
    return np.ascontiguousarray(x.reshape(-1, channels).T)


def read(path: str | Path, frames: int) -> tuple[Header, np.ndarray]:
    """The header and the first ``frames`` frames (fewer if the file is shorter) as float32 ``[C, L]``."""
    with _open(Path(path)) as f:
        found = _header(f)
        try:
            raw = f.readframes(min(frames, found.frames))
        except (wave.Error, EOFError) as e:
            raise ValueError(f"unreadable samples ({' '.join(str(e).split()) or type(e).__name__})") from None
    x = decode(raw, found.width, found.channels)
    if x.shape[1] < min(frames, found.frames):
        raise ValueError(f"cut short: its header says {found.frames} frames, it holds {x.shape[1]}")
    return found, x


def encode(x: np.ndarray) -> bytes:
    """Float ``[channels, frames]`` (clipped to ``[-1, 1]``) as interleaved 16-bit PCM bytes."""
    scaled = np.round(np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0) * 32767.0)
    return scaled.astype("<i2").T.tobytes()


def write(path: str | Path, x: np.ndarray, rate: int) -> Path:
    """Write float ``[channels, frames]`` in ``[-1, 1]`` as a 16-bit PCM WAV file at ``rate`` Hz."""
    signal = np.asarray(x)
    if signal.ndim != 2 or signal.shape[0] < 1:
        raise ValueError(f"a WAV file holds [channels, frames] samples, got shape {list(signal.shape)}")
    p = Path(path)
    with wave.open(str(p), "wb") as f:
        f.setnchannels(signal.shape[0])
        f.setsampwidth(WRITE_WIDTH)
        f.setframerate(int(rate))
        f.writeframes(encode(signal))
    return p
