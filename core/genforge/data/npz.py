"""The ``npz`` data source: arrays from a ``.npz`` file (read without pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from genforge.errors import DataError, one_line

if TYPE_CHECKING:
    import numpy as np

    from genforge.data.base import Data

_CHANNEL_SIZES = (1, 3, 4)


class NpzConfig(BaseModel):
    """Options of the ``npz`` data source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., description="the .npz file (read with allow_pickle=False)")
    x_key: str = Field("x", description="array of samples: [N, D], [N, H, W], [N, C, H, W] "
                                        "or [N, H, W, C]")
    y_key: str | None = Field(
        "y", description="array of integer labels 0..K-1, used only if the file has it; "
                         "null for unlabelled")
    value_range: tuple[float, float] | None = Field(
        None, description="raw [low, high] of x; images are mapped linearly to [0, 1]. "
                          "null: uint8 is divided by 255, floats must already be in [0, 1]")
    layout: Literal["auto", "NCHW", "NHWC"] = Field(
        "auto", description="axis order of 4-D x; auto takes NHWC when only the last axis "
                            "has 1, 3 or 4 entries")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="held-out share (random)")
    split_seed: int = Field(0, ge=0, description="seed of the train/held-out split")
    class_names: list[str] | None = Field(
        None, description="names of the classes; their count sets the number of classes")
    flip: bool = Field(False, description="images: mirror each training image left to right with "
                                          "probability 1/2")

    @field_validator("value_range")
    @classmethod
    def _check_range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"low must be below high, got {list(v)}")
        return v


def load(config: NpzConfig) -> Data:
    """Load ``x`` (and labels when present) from a ``.npz`` file with a seeded random split."""
    import zipfile

    import numpy as np
    import torch

    from genforge.data.base import Data, TensorData
    from genforge.data.folders import split_indices
    from genforge.data.info import DataInfo

    path = Path(config.path).expanduser()
    where = f"data.path {str(path)!r}"
    if not path.exists():
        raise DataError(f"{where}: no such file")
    if not path.is_file():
        raise DataError(f"{where}: not a file (expected a .npz archive)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{where}: not a readable .npz archive ({one_line(exc)})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{where}: is a single .npy array, expected a .npz archive "
                        "(save with np.savez)")
    with archive:
        keys = list(archive.files)
        if config.x_key not in keys:
            raise DataError(f"data.x_key {config.x_key!r}: not in {where}; "
                            f"available keys: {', '.join(keys) or '(none)'}")
        x = _get(archive, config.x_key, where, "data.x_key")
        y = None
        if config.y_key is not None and config.y_key in keys:
            y = _get(archive, config.y_key, where, "data.y_key")

    x_where = f"{where} array {config.x_key!r}"
    if x.dtype.kind not in "biuf":
        raise DataError(f"{x_where}: dtype {x.dtype} is not numeric (expected integers or floats)")
    if x.ndim not in (2, 3, 4) or x.shape[0] == 0 or 0 in x.shape:
        raise DataError(f"{x_where}: shape {list(x.shape)}; expected a non-empty [N, D], "
                        "[N, H, W], [N, C, H, W] or [N, H, W, C]")
    n = x.shape[0]

    kind: Literal["image", "vector"]
    if x.ndim == 2:
        if config.flip:
            raise DataError(f"data.flip = true: mirrors images, but {x_where} holds [N, D] vectors")
        kind = "vector"
        xf = x.astype(np.float32)
        _check_finite(xf, x_where)
        value_range = config.value_range
        if value_range is not None:
            _check_within(xf, value_range, x_where)
    else:
        kind = "image"
        if x.ndim == 3:
            x = x[:, None]
        else:
            layout = config.layout
            if layout == "auto":
                nhwc = x.shape[-1] in _CHANNEL_SIZES and x.shape[1] not in _CHANNEL_SIZES
                layout = "NHWC" if nhwc else "NCHW"
            if layout == "NHWC":
                x = x.transpose(0, 3, 1, 2)
        xf = _to_unit(x, config.value_range, x_where)
        value_range = (0.0, 1.0)

    labels = None
    num_classes = 0
    class_names: tuple[str, ...] = ()
    if y is not None:
        labels = _labels(y, n, f"{where} array {config.y_key!r} (data.y_key)")
        num_classes = int(labels.max()) + 1
        if config.class_names is not None:
            if num_classes > len(config.class_names):
                raise DataError(
                    f"data.class_names: {len(config.class_names)} names, but labels in "
                    f"{where} go up to {num_classes - 1}")
            num_classes = len(config.class_names)
            class_names = tuple(config.class_names)
        else:
            class_names = tuple(str(i) for i in range(num_classes))
    elif config.class_names is not None:
        raise DataError(f"data.class_names: given, but {where} has no labels array "
                        f"{config.y_key!r} (data.y_key); keys: {', '.join(keys)}")

    idx_train, idx_test = split_indices(n, config.test_fraction, config.split_seed)
    xt = torch.from_numpy(np.ascontiguousarray(xf))
    yt = torch.from_numpy(labels) if labels is not None else None

    def subset(idx: np.ndarray) -> TensorData:
        it = torch.from_numpy(idx)
        return TensorData(xt[it], yt[it] if yt is not None else None)

    train = subset(idx_train)
    test = subset(idx_test) if len(idx_test) else None
    info = DataInfo(shape=tuple(int(s) for s in xf.shape[1:]), kind=kind, value_range=value_range,
                    num_classes=num_classes, class_names=class_names, num_train=len(train),
                    num_test=len(test) if test is not None else 0, name=path.stem)
    return Data(train=train, test=test, info=info, flip=config.flip)


def _get(archive: np.lib.npyio.NpzFile, key: str, where: str, field: str) -> np.ndarray:
    """Read one array from an open archive, turning numpy's errors into ``DataError``."""
    try:
        return archive[key]
    except ValueError as exc:
        # numpy refuses object arrays without pickle with a ValueError
        raise DataError(f"{where} array {key!r} ({field}): cannot be read without pickle; "
                        f"store a numeric array ({one_line(exc)})") from exc
    except Exception as exc:  # corrupt member: zlib, zipfile, EOF ...
        raise DataError(f"{where} array {key!r} ({field}): unreadable "
                        f"({one_line(exc)})") from exc


def _check_finite(x: np.ndarray, where: str) -> None:
    """Raise ``DataError`` when ``x`` holds NaN or infinity."""
    import numpy as np

    if not np.isfinite(x).all():
        raise DataError(f"{where}: contains NaN or infinite values")


def _check_within(x: np.ndarray, value_range: tuple[float, float], where: str) -> None:
    """Raise ``DataError`` when ``x`` leaves ``value_range`` (beyond rounding)."""
    lo, hi = value_range
    tol = 1e-5 * (hi - lo)
    xmin, xmax = float(x.min()), float(x.max())
    if xmin < lo - tol or xmax > hi + tol:
        raise DataError(f"{where}: values span [{xmin:g}, {xmax:g}], outside "
                        f"data.value_range [{lo:g}, {hi:g}]")


def _to_unit(x: np.ndarray, value_range: tuple[float, float] | None, where: str) -> np.ndarray:
    """Map image values to float32 in [0, 1] as ``value_range`` (or the dtype) says."""
    import numpy as np

    if value_range is not None:
        xf = x.astype(np.float32)
        _check_finite(xf, where)
        _check_within(xf, value_range, where)
        lo, hi = value_range
        return np.clip((xf - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if x.dtype.kind == "b":
        return x.astype(np.float32)
    if x.dtype.kind == "f":
        xf = x.astype(np.float32)
        _check_finite(xf, where)
        xmin, xmax = float(xf.min()), float(xf.max())
        if xmin < 0.0 or xmax > 1.0:
            raise DataError(f"{where}: float values span [{xmin:g}, {xmax:g}], not [0, 1]; "
                            "set data.value_range to their raw range, e.g. [-1, 1]")
        return xf
    xmin, xmax = int(x.min()), int(x.max())
    raise DataError(f"{where}: dtype {x.dtype} (values {xmin}..{xmax}) has no known range; "
                    "set data.value_range, e.g. [0, 65535] for 16-bit images")


def _labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    """Check labels (integers 0..K-1, one per sample) and return them as int64."""
    import numpy as np

    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{where}: shape {list(y.shape)}; expected [{n}], one label per sample")
    if y.dtype.kind in "iu":
        yi = y.astype(np.int64)
    elif y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
        yi = y.astype(np.int64)
    else:
        raise DataError(f"{where}: dtype {y.dtype}; expected integer class labels 0..K-1")
    if yi.min() < 0:
        raise DataError(f"{where}: has negative label {int(yi.min())}; expected 0..K-1")
    return yi
