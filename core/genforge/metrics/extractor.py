"""Feature extractors: a trained ``ConvNet`` plus its metadata, stored as safetensors only.

An extractor file is a safetensors file of the network's weights whose string metadata
says how to rebuild it (``channels``, ``size``, ``num_outputs``, ``width``) and what it
was trained on (``data``, ``objective``, ``class_names``, ``test_accuracy``, ...).
Samples are scored at the extractor's resolution: larger images are area-averaged
down to it (digits trained at 16 or 32 px come back to the native 8x8 exactly).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from genforge.errors import GenforgeError
from genforge.files import regular_file
from genforge.metrics.convnet import ConvNet

if TYPE_CHECKING:
    from genforge.plugins import Plugins

FORMAT = "genforge-feature-extractor"
#: The digits extractor shipped inside the package (``python -m genforge.metrics.digits_extractor``).
DIGITS_WEIGHTS = Path(__file__).parent / "weights" / "digits.safetensors"


@dataclass
class FeatureExtractor:
    """A feature network with its metadata; ``embed`` gives features and class logits."""

    net: ConvNet
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The side in pixels that images are scored at (the data's native resolution)."""
        return self.net.size

    @property
    def channels(self) -> int:
        """Image channels the network takes."""
        return self.net.channels

    @property
    def class_names(self) -> list[str]:
        """Names of the classes the head predicts (empty for a self-supervised extractor)."""
        return list(self.meta.get("class_names", []))

    @property
    def name(self) -> str:
        """A short description for tables: the data it was trained on and where it came from."""
        base = str(self.meta.get("name") or self.meta.get("data") or "extractor")
        return f"{base} from {self.meta['file']}" if self.meta.get("file") else base

    def native(self, x: torch.Tensor) -> torch.Tensor:
        """Images at the extractor's resolution: area-averaged down, never up."""
        x = x.float()
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise GenforgeError(f"feature extractor {self.name!r}: expects [N, {self.channels}, H, W] "
                                f"images, got shape {list(x.shape)}")
        return to_size(x, self.size)

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """(float64 features ``[N, 128]``, float32 logits ``[N, K]``) of images in [0, 1]."""
        self.net.eval()
        x = self.native(x)
        feats, logits = [], []
        for i in range(0, len(x), batch_size):
            f = self.net.features(x[i : i + batch_size])
            feats.append(f.double())
            logits.append(self.net.head(f))
        if not feats:
            return torch.zeros(0, self.net.head.in_features, dtype=torch.float64), torch.zeros(0)
        return torch.cat(feats), torch.cat(logits)


def to_size(x: torch.Tensor, size: int) -> torch.Tensor:
    """Area-downsample square images ``[N, C, H, W]`` to ``size`` pixels (average pooling)."""
    side = x.shape[-1]
    if x.shape[-2] != side:
        raise GenforgeError(f"expected square images, got {x.shape[-2]}x{side}")
    if side == size:
        return x
    if side < size:
        raise GenforgeError(f"images are {side}x{side} pixels but the feature extractor scores "
                            f"{size}x{size}; it never upsamples (train one at {side} px with "
                            "`genforge features train`)")
    if side % size == 0:
        return F.avg_pool2d(x, side // size)
    return F.interpolate(x, size=(size, size), mode="area")


def save_extractor(extractor: FeatureExtractor, path: str | Path) -> Path:
    """Write the extractor as one safetensors file (weights + string metadata)."""
    from safetensors.torch import save_file

    net = extractor.net
    meta = {"format": FORMAT, "channels": net.channels, "size": net.size,
            "num_outputs": net.num_outputs, "width": net.width,
            **{k: v for k, v in extractor.meta.items() if k != "file"}}
    text = {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(p), metadata=text)
    return p


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def load_extractor(path: str | os.PathLike[str]) -> FeatureExtractor:
    """Read an extractor file written by ``save_extractor`` (safetensors, no pickle)."""
    p = Path(path).expanduser()
    key = (str(p.resolve()), regular_file(p, "feature extractor file").stat().st_mtime_ns)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _CACHE[key] = _read(p)
    return cached


_CACHE: dict[tuple[str, int], FeatureExtractor] = {}


def _read(p: Path) -> FeatureExtractor:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(p), framework="pt") as f:
            raw = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no iterator
    except (SafetensorError, OSError) as e:
        raise GenforgeError(f"feature extractor {str(p)!r}: not a readable safetensors file: {e}") from None
    if raw.get("format") != FORMAT:
        raise GenforgeError(f"feature extractor {str(p)!r}: not a genforge feature extractor "
                            "(write one with `genforge features train`)")
    meta = {k: _decode(v) for k, v in raw.items()}
    with torch.random.fork_rng(devices=[]):  # the throwaway initialisation must not move the global RNG
        net = ConvNet(int(meta["channels"]), int(meta["size"]), int(meta["num_outputs"]), int(meta["width"]))
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise GenforgeError(f"feature extractor {str(p)!r}: weights do not match its metadata: "
                            f"{str(e).splitlines()[0]}") from None
    net.eval()
    meta["file"] = p.name
    return FeatureExtractor(net, meta)


def as_extractor(value: object) -> FeatureExtractor:
    """A ``FeatureExtractor`` from an extractor, a path, or a callable returning either."""
    if callable(value) and not isinstance(value, FeatureExtractor):
        value = value()
    if isinstance(value, FeatureExtractor):
        return value
    if isinstance(value, (str, os.PathLike)):
        return load_extractor(value)
    raise GenforgeError(f"feature extractor: expected a FeatureExtractor or a .safetensors path, "
                        f"got {type(value).__name__}")


def registered_extractor(data_source: str, plugins: Plugins) -> FeatureExtractor | None:
    """The extractor a plugin registered for ``data_source``, or None."""
    if not plugins.registrants("feature_extractors", data_source):
        return None
    entry = plugins.get("feature_extractors", data_source)
    target = entry.target
    if isinstance(target, os.PathLike) or (isinstance(target, str) and target.endswith(".safetensors")):
        return load_extractor(target)
    return as_extractor(entry.load())
