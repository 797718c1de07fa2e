"""The ``toy2d`` data source: 8 Gaussians on a ring, 25 on a grid, or a swiss roll."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from genforge.errors import DataError

if TYPE_CHECKING:
    import numpy as np

    from genforge.data.base import Data, TensorData

DATASETS = ("8gaussians", "25gaussians", "swissroll")

#: Noise used when ``std`` is not set: the mixtures' per-mode standard deviation,
#: and for the swiss roll the ``noise`` of ``sklearn.datasets.make_swiss_roll``.
DEFAULT_STDS: dict[str, float] = {"8gaussians": 0.02, "25gaussians": 0.05, "swissroll": 0.25}

#: The swiss roll's (x, z) coordinates are divided by this, to a span of about [-2.5, 3].
SWISSROLL_SCALE = 5.0


class Toy2DConfig(BaseModel):
    """Options of the ``toy2d`` data source."""

    model_config = ConfigDict(extra="forbid")

    dataset: Literal["8gaussians", "25gaussians", "swissroll"] = Field(
        "8gaussians", description="8 Gaussians on a ring of radius 2, 25 on the grid "
                                  "{-4,-2,0,2,4}^2, or a swiss roll (unlabelled)")
    n_train: int = Field(20000, gt=0, description="training points")
    n_test: int = Field(5000, ge=0, description="held-out points (0: none)")
    std: float | None = Field(None, ge=0.0, description="noise; null: 0.02 for 8gaussians, "
                                                        "0.05 for 25gaussians, 0.25 for swissroll")
    seed: int = Field(0, ge=0, description="seed; the held-out points use a separate stream")


def mode_centers(dataset: str) -> list[tuple[float, float]]:
    """Return the mode centres of a toy set, in label order (none for the swiss roll)."""
    if dataset == "8gaussians":
        return [(2.0 * math.cos(2 * math.pi * k / 8), 2.0 * math.sin(2 * math.pi * k / 8))
                for k in range(8)]
    if dataset == "25gaussians":
        grid = (-4.0, -2.0, 0.0, 2.0, 4.0)
        return [(gx, gy) for gx in grid for gy in grid]
    if dataset == "swissroll":
        return []
    raise DataError(f"data.dataset {dataset!r}: unknown; choose one of: {', '.join(DATASETS)}")


def sample(dataset: str, n: int, std: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Draw ``n`` points (float32 ``[n, 2]``) and their mode labels (None for the swiss roll)."""
    import numpy as np

    if dataset == "swissroll":
        from sklearn.datasets import make_swiss_roll

        pts, _ = make_swiss_roll(n_samples=n, noise=std,
                                 random_state=int(rng.integers(0, 2**32 - 1)))
        return (pts[:, [0, 2]] / SWISSROLL_SCALE).astype(np.float32), None
    centers = np.asarray(mode_centers(dataset), dtype=np.float64)
    labels = rng.integers(0, len(centers), size=n)
    pts = centers[labels] + std * rng.standard_normal((n, 2))
    return pts.astype(np.float32), labels.astype(np.int64)


def load(config: Toy2DConfig) -> Data:
    """Sample the training and held-out points from independent seeded streams."""
    import numpy as np
    import torch

    from genforge.data.base import Data, TensorData
    from genforge.data.info import DataInfo

    std = DEFAULT_STDS[config.dataset] if config.std is None else config.std
    rng_train, rng_test = (np.random.default_rng(s)
                           for s in np.random.SeedSequence(config.seed).spawn(2))

    def make(n: int, rng: np.random.Generator) -> TensorData:
        x, y = sample(config.dataset, n, std, rng)
        return TensorData(torch.from_numpy(x), torch.from_numpy(y) if y is not None else None)

    train = make(config.n_train, rng_train)
    test = make(config.n_test, rng_test) if config.n_test > 0 else None
    k = len(mode_centers(config.dataset))
    info = DataInfo(shape=(2,), kind="vector", value_range=None, num_classes=k,
                    class_names=tuple(f"mode{i}" for i in range(k)), num_train=len(train),
                    num_test=len(test) if test is not None else 0, name=config.dataset)
    return Data(train=train, test=test, info=info)
