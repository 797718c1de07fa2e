"""Shared network pieces for model families."""

from __future__ import annotations

import torch

from genforge.layers import LabelMap


def test_label_map_joins_the_embedding_as_features_or_channels():
    m = LabelMap(10, 3)
    labels = torch.tensor([1, 7])
    flat = m(torch.zeros(2, 5), labels)
    assert flat.shape == (2, 8) and torch.equal(flat[:, 5:], m.embed(labels))
    maps = m(torch.zeros(2, 1, 4, 4), labels)
    assert maps.shape == (2, 4, 4, 4)
    assert torch.equal(maps[:, 1:, 2, 3], m.embed(labels))  # the same at every pixel
