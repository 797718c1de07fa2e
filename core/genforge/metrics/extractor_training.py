"""Training a feature extractor: deterministic on CPU (fixed seed, one thread).

With class labels the network learns to classify (``objective = "classes"``); without
them it learns to tell which of four rotations an image was given (``"rotation"``, a
self-supervised task), so an unlabelled image folder gets a feature space too.
Augmentation: random shifts of up to one pixel (zero fill).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from genforge.errors import GenforgeError
from genforge.metrics.convnet import ConvNet
from genforge.metrics.extractor import FeatureExtractor

if TYPE_CHECKING:
    from pydantic import BaseModel

    from genforge.plugins import Plugins

#: The recipe of the shipped digits extractor; ``genforge features train`` uses it too.
RECIPE: dict[str, Any] = {"epochs": 40, "batch_size": 64, "lr": 1e-3, "width": 20, "seed": 0}


def shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by -1, 0 or +1 pixels in each direction (zeros fill the edge)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (1, 1, 1, 1))
    offsets = torch.randint(0, 3, (n, 2), generator=generator)
    out = torch.empty_like(x)
    for dy in range(3):
        for dx in range(3):
            m = (offsets[:, 0] == dy) & (offsets[:, 1] == dx)
            out[m] = padded[m, :, dy : dy + h, dx : dx + w]
    return out


def rotate(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate each image by a random multiple of 90 degrees; return (images, rotation index)."""
    k = torch.randint(0, 4, (len(x),), generator=generator)
    out = x.clone()
    for r in range(1, 4):
        m = k == r
        out[m] = torch.rot90(x[m], r, dims=(2, 3))
    return out, k


def _accuracy(net: ConvNet, x: torch.Tensor, y: torch.Tensor | None, objective: str) -> float:
    net.eval()
    with torch.no_grad():
        if objective == "rotation":
            xs = torch.cat([torch.rot90(x, r, dims=(2, 3)) for r in range(4)])
            ys = torch.arange(4).repeat_interleave(len(x))
        else:
            assert y is not None  # the classes objective has labels
            xs, ys = x, y
        correct = sum(int((net(xs[i : i + 1000]).argmax(1) == ys[i : i + 1000]).sum())
                      for i in range(0, len(xs), 1000))
    return correct / max(len(xs), 1)


def train_extractor(
    x: torch.Tensor,
    y: torch.Tensor | None,
    *,
    class_names: list[str] | tuple[str, ...] = (),
    test: tuple[torch.Tensor, torch.Tensor | None] | None = None,
    objective: str = "auto",
    epochs: int = RECIPE["epochs"],
    batch_size: int = RECIPE["batch_size"],
    lr: float = RECIPE["lr"],
    width: int = RECIPE["width"],
    seed: int = RECIPE["seed"],
    meta: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> FeatureExtractor:
    """Train a ``ConvNet`` on square images ``x`` in [0, 1] (labels ``y``); bit-reproducible on CPU."""
    if x.dim() != 4 or x.shape[-1] != x.shape[-2]:
        raise GenforgeError(f"feature extractor: needs square images [N, C, H, W], got {list(x.shape)}")
    if objective == "auto":
        objective = "classes" if y is not None and len(class_names) >= 2 else "rotation"
    if objective == "classes" and (y is None or len(class_names) < 2):
        raise GenforgeError("feature extractor: objective 'classes' needs labelled data with at least "
                            "two classes (one subfolder per class for image-folder)")
    if objective not in ("classes", "rotation"):
        raise GenforgeError(f"feature extractor: unknown objective {objective!r}")
    if len(x) < batch_size:
        raise GenforgeError(f"feature extractor: {len(x)} training images, fewer than a batch of "
                            f"{batch_size}")
    outputs = len(class_names) if objective == "classes" else 4
    x = x.float().cpu()
    y = y.long().cpu() if y is not None else None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reductions in a fixed order: the same bits on every run
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = ConvNet(x.shape[1], x.shape[-1], outputs, width)
            gen = torch.Generator().manual_seed(seed)
            opt = torch.optim.Adam(net.parameters(), lr=lr)
            per_epoch = len(x) // batch_size
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * per_epoch)
            for epoch in range(epochs):
                net.train()
                perm = torch.randperm(len(x), generator=gen)
                total = 0.0
                for i in range(per_epoch):
                    idx = perm[i * batch_size : (i + 1) * batch_size]
                    xb = shift(x[idx], gen)
                    if objective == "rotation":
                        xb, yb = rotate(xb, gen)
                    else:
                        yb = y[idx]  # type: ignore[index]
                    loss = F.cross_entropy(net(xb), yb)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    schedule.step()
                    total += loss.item()
                if log and (epoch + 1) % 10 == 0:
                    log(f"epoch {epoch + 1}/{epochs}: loss {total / per_epoch:.4f}")
            net.eval()
            info: dict[str, Any] = {
                "objective": objective, "class_names": list(class_names) if objective == "classes" else [],
                "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                "train_images": len(x), "torch": torch.__version__.split("+")[0],
                "train_accuracy": round(_accuracy(net, x, y, objective), 4),
            }
            if test is not None and len(test[0]):
                info["test_accuracy"] = round(_accuracy(net, test[0].float().cpu(), test[1], objective), 4)
                info["test_images"] = len(test[0])
    finally:
        torch.set_num_threads(threads)
    return FeatureExtractor(net, {**info, **(meta or {})})


def train_for_data(name: str, config: BaseModel | None = None, plugins: Plugins | None = None,
                   **recipe: Any) -> FeatureExtractor:
    """Train an extractor on the training split of data source ``name`` (``config``: its options)."""
    from genforge.data.base import TensorData
    from genforge.data.checks import run_source
    from genforge.plugins import default_plugins

    plugins = plugins or default_plugins()
    entry = plugins.get("data_sources", name)
    config = config if config is not None else entry.config_cls()
    data = run_source(entry, config)
    if data.info.kind != "image" or not isinstance(data.train, TensorData):
        raise GenforgeError(f"data source {name!r}: feature extractors are for in-memory image data")
    test = (data.test.x, data.test.y) if isinstance(data.test, TensorData) else None
    meta = {"data": name, "name": f"{name} convnet", "data_config": config.model_dump(mode="json")}
    return train_extractor(data.train.x, data.train.y if data.info.num_classes else None,
                           class_names=data.info.class_names, test=test, meta=meta, **recipe)
