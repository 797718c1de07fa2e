"""The ``wav-folder`` data source: PCM WAV files as ``[C, L]`` signals, optionally one subfolder per class."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from genforge.errors import DataError

if TYPE_CHECKING:
    from genforge.data.base import Data
    from genforge.wav import Header

WAV_SUFFIXES = (".wav",)


class WavFolderConfig(BaseModel):
    """Options of the ``wav-folder`` data source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., description="folder of .wav files, or of one subfolder of them per class")
    length: int | None = Field(None, gt=0, description="samples per channel: longer files are cut at "
                                                       "the end, shorter ones padded with silence; "
                                                       "null: the longest file's length")
    mono: bool = Field(False, description="mix every file down to one channel (the files may then "
                                          "differ in channels)")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="held-out share (random)")
    split_seed: int = Field(0, ge=0, description="seed of the train/held-out split")


def _where(path: Path) -> str:
    return f"wav file {str(path)!r}"


def _unreadable(path: Path, e: Exception) -> DataError:
    """The one-line error of a file that cannot be read."""
    return DataError(f"{_where(path)}: {' '.join(str(e).split()) or type(e).__name__}")


def _header(path: Path) -> Header:
    """A file's header, or a one-line ``DataError`` naming the file."""
    from genforge import wav

    try:
        found = wav.header(path)
    except (ValueError, OSError) as e:
        raise _unreadable(path, e) from None
    if found.frames == 0:
        raise DataError(f"{_where(path)}: holds no samples")
    return found


def load(config: WavFolderConfig) -> Data:
    """Load the files as float ``[N, C, length]`` signals in [-1, 1] with a seeded random split."""
    import numpy as np
    import torch

    from genforge import wav
    from genforge.data.base import Data, TensorData
    from genforge.data.folders import list_folder, split_indices
    from genforge.data.info import DataInfo
    from genforge_runtime.sizes import check_memory

    listing = list_folder(config.path, WAV_SUFFIXES)
    files = listing.files
    headers = [_header(f) for f in files]
    first, rate, channels = files[0], headers[0].rate, headers[0].channels
    for f, h in zip(files, headers, strict=True):
        if h.rate != rate:
            raise DataError(f"{_where(f)}: {h.rate} Hz, but {str(first)!r} is {rate} Hz; the files "
                            "must share one sample rate (resample them first)")
        if h.channels != channels and not config.mono:
            raise DataError(f"{_where(f)}: {h.channels} channels, but {str(first)!r} has {channels}; "
                            "set data.mono = true to mix every file down to one channel")
    length = config.length or max(h.frames for h in headers)
    c = 1 if config.mono else channels
    check_memory(f"data.length = {length}", len(files), (c, length), itemsize=4)

    x = np.zeros((len(files), c, length), dtype=np.float32)
    for i, f in enumerate(files):
        try:
            _, signal = wav.read(f, length)
        except (ValueError, OSError) as e:
            raise DataError(f"{_where(f)}: {' '.join(str(e).split())}") from None
        x[i, :, : signal.shape[1]] = signal.mean(0, keepdims=True) if config.mono else signal

    idx_train, idx_test = split_indices(len(files), config.test_fraction, config.split_seed, "files")
    xt = torch.from_numpy(x)
    yt = torch.tensor(listing.labels, dtype=torch.long) if listing.labels is not None else None

    def subset(idx: np.ndarray) -> TensorData:
        it = torch.from_numpy(idx)
        return TensorData(xt[it], yt[it] if yt is not None else None)

    train = subset(idx_train)
    test = subset(idx_test) if len(idx_test) else None
    names = listing.class_names
    info = DataInfo(shape=(c, length), kind="signal", value_range=(-1.0, 1.0), num_classes=len(names),
                    class_names=names, num_train=len(train), num_test=len(test) if test is not None else 0,
                    name=Path(config.path).expanduser().resolve().name, sample_rate=rate)
    return Data(train=train, test=test, info=info)
