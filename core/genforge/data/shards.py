"""The ``shards`` data source: a folder written by ``genforge data pack`` (WebDataset tar shards).

The training split is streamed from its shards while training (``genforge.data.shard_epochs``);
the held-out split is read into memory for evaluation and previews.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from genforge.data.base import Data


class ShardsConfig(BaseModel):
    """Options of the ``shards`` data source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., description="folder written by genforge data pack (info.json and tar shards)")
    shuffle_buffer: int = Field(1000, ge=0, le=1_000_000, description="samples each reading stream "
                                "holds to shuffle across its shards (0: shard order only)")


def load(config: ShardsConfig) -> Data:
    """The shards of ``data.path``: training split streamed, held-out split in memory."""
    from genforge.data.base import Data
    from genforge.data.shard_epochs import ShardSplit, in_memory
    from genforge.data.shard_format import read_info

    folder = Path(config.path).expanduser()
    shards = read_info(folder)
    test = in_memory(folder, shards.test, shards.info) if shards.test else None
    return Data(train=ShardSplit(folder, shards.train, shards.info, config.shuffle_buffer), test=test,
                info=shards.info)
