"""``DataInfo``: what a data source tells a model about its data (no torch here)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from pydantic import TypeAdapter, ValidationError


@dataclass(frozen=True)
class DataInfo:
    """Shape, value range and classes of one sample, as a model needs them.

    ``shape`` is ``(C, H, W)`` for images, ``(D,)`` for vectors and ``(C, L)`` for
    signals (channels of ``L`` samples: audio, time series). Image data always comes
    in ``[0, 1]``; vector data may be unbounded (``value_range`` is then ``None``);
    audio comes in ``[-1, 1]``. ``num_classes`` is 0 for unlabelled data;
    ``sample_rate`` is the signals' samples per second, ``None`` when unknown.
    """

    shape: tuple[int, ...]
    kind: Literal["image", "vector", "signal"]
    value_range: tuple[float, float] | None = (0.0, 1.0)
    num_classes: int = 0
    class_names: tuple[str, ...] = field(default_factory=tuple)
    num_train: int = 0
    num_test: int = 0
    name: str = ""
    sample_rate: int | None = None

    @property
    def conditional(self) -> bool:
        """True when the data carries class labels."""
        return self.num_classes > 0

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["class_names"] = list(self.class_names)
        d["value_range"] = list(self.value_range) if self.value_range is not None else None
        return d

    @classmethod
    def from_dict(cls, d: object) -> DataInfo:
        """Rebuild from ``to_dict`` output, ignoring keys this version does not know.

        Malformed input (a stored ``data_info`` edited by hand) is a ``ValueError`` naming the field.
        """
        if not isinstance(d, dict):
            raise ValueError(f"data_info: expected an object, got {type(d).__name__}")
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        try:
            info = TypeAdapter(cls).validate_json(json.dumps(known), strict=True)
        except (ValidationError, ValueError) as e:
            first = e.errors()[0] if isinstance(e, ValidationError) else {"loc": (), "msg": str(e)}
            where = ".".join(str(p) for p in ("data_info", *first["loc"]))
            raise ValueError(f"{where}: {first['msg']}") from None
        finite = info.value_range is None or all(math.isfinite(v) for v in info.value_range)
        rate = info.sample_rate
        if not info.shape or min(info.shape) < 1 or info.num_classes < 0 or not finite or \
                (rate is not None and rate < 1):
            raise ValueError(f"data_info: shape {list(info.shape)}, num_classes {info.num_classes}, "
                             f"value_range {info.value_range} or sample_rate {rate} out of range")
        return info
