"""The ``image-folder`` data source: PNG/JPEG files, optionally one subfolder per class."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from genforge.errors import DataError, one_line

if TYPE_CHECKING:
    import numpy as np

    from genforge.data.base import Data

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageFolderConfig(BaseModel):
    """Options of the ``image-folder`` data source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., description="folder of images, or of one subfolder of images per class")
    size: int = Field(32, gt=0, description="image side: center-cropped to a square, then "
                                            "resized (bilinear)")
    channels: Literal[1, 3] = Field(3, description="1 for grayscale, 3 for RGB")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="held-out share (random)")
    split_seed: int = Field(0, ge=0, description="seed of the train/held-out split")
    cache: str = Field("auto", min_length=1,
                       description="folder of the decoded images' cache (read memory-mapped at later "
                                   "starts); 'auto': $XDG_CACHE_HOME/genforge/data or "
                                   "~/.cache/genforge/data; 'off': decode into memory at every start")
    flip: bool = Field(False, description="mirror each training image left to right with "
                                          "probability 1/2")


def load(config: ImageFolderConfig) -> Data:
    """Load the images as uint8 ``[N, C, size, size]`` (float32 in [0, 1] per batch), split at random:
    mapped from the on-disk cache (``data.cache``), or decoded into memory with ``off``."""
    import numpy as np
    import torch

    from genforge.data.base import Data, TensorData
    from genforge.data.cache import Rows, load_rows
    from genforge.data.folders import list_folder, split_indices
    from genforge.data.info import DataInfo

    listing = list_folder(config.path, IMAGE_SUFFIXES, "images")
    idx_train, idx_test = split_indices(len(listing.files), config.test_fraction, config.split_seed, "images")
    order = np.concatenate([idx_train, idx_test])  # the rows in split order: each split is a slice
    shape = (config.channels, config.size, config.size)
    options = config.model_dump(include={"size", "channels", "test_fraction", "split_seed"})
    rows = Rows("image-folder", Path(config.path).expanduser(), [listing.files[i] for i in order], shape,
                np.dtype(np.uint8), options,
                lambda f: _read_image(f, config.size, config.channels).transpose(2, 0, 1))
    x, mapped = load_rows(rows, config.cache)
    xt = torch.from_numpy(x)
    labels = listing.labels
    yt = torch.tensor(labels, dtype=torch.long)[torch.from_numpy(order)] if labels is not None else None
    n_train = len(idx_train)

    def part(at: slice) -> TensorData:
        return TensorData(xt[at], yt[at] if yt is not None else None, as_bytes=True, on_disk=mapped)

    train = part(slice(0, n_train))
    test = part(slice(n_train, None)) if len(idx_test) else None
    names = listing.class_names
    info = DataInfo(shape=shape, kind="image", value_range=(0.0, 1.0), num_classes=len(names),
                    class_names=names, num_train=len(train), num_test=len(test) if test is not None else 0,
                    name=Path(config.path).expanduser().resolve().name)
    return Data(train=train, test=test, info=info, flip=config.flip)


def _read_image(path: Path, size: int, channels: int) -> np.ndarray:
    """Read one image as a ``[size, size, channels]`` uint8 array, center-cropped and resized."""
    import numpy as np
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode == "I" or img.mode.startswith("I;16"):  # 16-bit PNG: scale, not clip
                wide = np.asarray(img, dtype=np.float64) / 257.0
                img = Image.fromarray(np.clip(np.round(wide), 0, 255).astype(np.uint8))
            elif img.mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")
            img = img.convert("L" if channels == 1 else "RGB")
            w, h = img.size
            s = min(w, h)
            left, top = (w - s) // 2, (h - s) // 2
            img = img.crop((left, top, left + s, top + s))
            if s != size:
                img = img.resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, ... on bad files
        raise DataError(f"image {str(path)!r}: cannot be read as an image "
                        f"({one_line(exc)})") from exc
    return arr.reshape(size, size, channels)
