"""Image sets read as bytes (uint8 pixels 0..255): resizing them and the ``Data`` they make.

They stay bytes in memory (``TensorData(..., as_bytes=True)``) and become float32 in
[0, 1] one batch at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge_runtime.sizes import check_memory

if TYPE_CHECKING:
    import torch

    from genforge.data.base import Data

#: Images resized per step (bounds the float32 copy made while resizing).
CHUNK = 4096


def resized(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """``[N, C, H, W]`` uint8 images at ``size`` x ``size`` (bilinear, antialiased when shrinking)."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    if size is None or (h, w) == (size, size):
        return x
    check_memory(f"data.size = {size} for {n} images", n, (c, size, size), itemsize=1)
    out = torch.empty((n, c, size, size), dtype=torch.uint8)
    for i in range(0, n, CHUNK):
        part = F.interpolate(x[i: i + CHUNK].float(), size=(size, size), mode="bilinear",
                             align_corners=False, antialias=size < max(h, w))
        out[i: i + CHUNK] = part.round_().clamp_(0, 255)
    return out


def byte_image_data(name: str, train: tuple[torch.Tensor, torch.Tensor],
                    test: tuple[torch.Tensor, torch.Tensor] | None,
                    class_names: tuple[str, ...], flip: bool = False) -> Data:
    """``Data`` over uint8 ``[N, C, H, W]`` images and int64 labels 0..K-1 (``test`` may be None)."""
    from genforge.data.base import Data, TensorData
    from genforge.data.info import DataInfo

    train_set = TensorData(*train, as_bytes=True)
    test_set = TensorData(*test, as_bytes=True) if test is not None else None
    info = DataInfo(shape=tuple(int(s) for s in train[0].shape[1:]), kind="image",
                    value_range=(0.0, 1.0), num_classes=len(class_names), class_names=class_names,
                    num_train=len(train_set), num_test=len(test_set) if test_set is not None else 0,
                    name=name)
    return Data(train=train_set, test=test_set, info=info, flip=flip)
