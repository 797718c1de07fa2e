"""The ``digits`` data source: scikit-learn's bundled 8x8 digits (no download)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from genforge.data.base import Data


class DigitsConfig(BaseModel):
    """Options of the ``digits`` data source."""

    model_config = ConfigDict(extra="forbid")

    size: Literal[8, 16, 32, 64] = Field(8, description="image side; 8 is native, larger is upsampled")
    resize: Literal["nearest", "bilinear"] = Field(
        "nearest", description="upsampling; nearest comes back exactly under average pooling")
    test_fraction: float = Field(0.3, gt=0.0, lt=1.0, description="held-out share (stratified)")
    split_seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the train/held-out split "
                            "(scikit-learn takes 0 to 2**32-1)")


def load(config: DigitsConfig) -> Data:
    """Load the digits as ``[N, 1, size, size]`` floats in [0, 1] with a stratified split."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from genforge.data.base import Data, TensorData
    from genforge.data.info import DataInfo

    bunch = load_digits()
    x = torch.from_numpy(bunch.images / 16.0).float().unsqueeze(1)
    y = torch.from_numpy(bunch.target).long()
    if config.size != 8:
        if config.resize == "nearest":
            x = F.interpolate(x, size=config.size, mode="nearest")
        else:
            x = F.interpolate(x, size=config.size, mode="bilinear", align_corners=False).clamp(0, 1)
    idx_train, idx_test = train_test_split(
        torch.arange(len(y)).numpy(), test_size=config.test_fraction,
        random_state=config.split_seed, stratify=y.numpy())
    train = TensorData(x[idx_train], y[idx_train])
    test = TensorData(x[idx_test], y[idx_test])
    info = DataInfo(shape=(1, config.size, config.size), kind="image", value_range=(0.0, 1.0),
                    num_classes=10, class_names=tuple(str(i) for i in range(10)),
                    num_train=len(train), num_test=len(test), name="digits")
    return Data(train=train, test=test, info=info)
