"""DiffAugment (Zhao et al., 2020): differentiable augmentations of what a discriminator sees.

The same random policy is applied to real and generated images in every discriminator
pass; each transform is differentiable in the images, so the generator's gradient flows
through it. A pass is two steps: ``draw`` takes the random parameters (from ``generator``,
or torch's global RNG, which genforge's trainer seeds and checkpoints) and ``apply`` uses
them, so one draw can transform several batches alike. Images are ``[N, C, H, W]`` in
``[-1, 1]``; the transforms follow the authors' reference code (translation by up to 1/8 of
a side with zero padding, a cutout of half a side).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: the largest shift as a share of a side, and the cutout's side as a share of a side
TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5


@dataclass(frozen=True)
class Draws:
    """The random parameters of one pass, per transform name, for ``n`` images of ``size`` (H, W)."""

    n: int
    size: tuple[int, int]
    params: dict[str, torch.Tensor]


def _uniform(n: int, k: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(n, k, generator=generator, device=device)


def _draw_color(n: int, size: tuple[int, int], generator: torch.Generator | None,
                device: torch.device) -> torch.Tensor:
    """Brightness shift in [-0.5, 0.5), saturation factor in [0, 2), contrast factor in [0.5, 1.5)."""
    u = _uniform(n, 3, generator, device)
    return u * torch.tensor([1.0, 2.0, 1.0], device=device) + torch.tensor([-0.5, 0.0, 0.5], device=device)


def _draw_translation(n: int, size: tuple[int, int], generator: torch.Generator | None,
                      device: torch.device) -> torch.Tensor:
    """Integer shifts (rows, columns) within +-TRANSLATION_RATIO of each side."""
    limits = [int(s * TRANSLATION_RATIO + 0.5) for s in size]
    return torch.stack([torch.randint(-m, m + 1, (n,), generator=generator, device=device)
                        for m in limits], dim=1)


def _draw_cutout(n: int, size: tuple[int, int], generator: torch.Generator | None,
                 device: torch.device) -> torch.Tensor:
    """Centres (row, column) of the cut square, as the reference code draws them."""
    cuts = [int(s * CUTOUT_RATIO + 0.5) for s in size]
    return torch.stack([torch.randint(0, s + (1 - c % 2), (n,), generator=generator, device=device)
                        for s, c in zip(size, cuts, strict=True)], dim=1)


def _color(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Brightness, then saturation (about the channel mean), then contrast (about the image mean)."""
    b, s, c = (p[:, i].to(x.dtype)[:, None, None, None] for i in range(3))
    x = x + b
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * s + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * c + mean


def _translation(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Shift each image by its (rows, columns), filling with zeros."""
    n, ch, h, w = x.shape
    padded = F.pad(x, [1, 1, 1, 1])
    rows = (torch.arange(h, device=x.device) + p[:, :1] + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device) + p[:, 1:] + 1).clamp(0, w + 1)
    out = padded.gather(2, rows[:, None, :, None].expand(n, ch, h, w + 2))
    return out.gather(3, cols[:, None, None, :].expand(n, ch, h, w))


def _cutout(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Zero a square of CUTOUT_RATIO of each side around each image's centre draw."""
    _, _, h, w = x.shape
    inside = []
    for axis, side in enumerate((h, w)):
        cut = int(side * CUTOUT_RATIO + 0.5)
        start = p[:, axis : axis + 1] - cut // 2
        pos = torch.arange(side, device=x.device)
        inside.append((pos >= start) & (pos < start + cut))
    keep = ~(inside[0][:, :, None] & inside[1][:, None, :])
    return x * keep[:, None].to(x.dtype)


#: name -> (draw its parameters, apply them)
OPS: dict[str, tuple[Callable[..., torch.Tensor], Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = {
    "color": (_draw_color, _color),
    "translation": (_draw_translation, _translation),
    "cutout": (_draw_cutout, _cutout),
}


def draw(policy: Sequence[str], n: int, size: tuple[int, int], generator: torch.Generator | None = None,
         device: torch.device | str = "cpu") -> Draws:
    """The random parameters of ``policy`` for ``n`` images of ``size`` (H, W).

    They come from ``generator`` (drawn on its device, then moved to ``device``), or else
    from torch's global RNG on ``device``.
    """
    unknown = [name for name in policy if name not in OPS]
    if unknown:
        raise ValueError(f"DiffAugment: unknown transform {unknown[0]!r}; expected some of {', '.join(OPS)}")
    where = generator.device if generator is not None else torch.device(device)
    return Draws(n, size, {name: OPS[name][0](n, size, generator, where).to(device) for name in policy})


def apply(x: torch.Tensor, draws: Draws) -> torch.Tensor:
    """Transform the images ``x`` with ``draws`` (differentiable in ``x``; ``x`` itself for no transforms)."""
    if tuple(x.shape[-2:]) != draws.size or x.shape[0] != draws.n:
        raise ValueError(f"DiffAugment: draws for {draws.n} images of {draws.size}, got a batch of "
                         f"shape {list(x.shape)}")
    for name, p in draws.params.items():
        x = OPS[name][1](x, p)
    return x


def diff_augment(x: torch.Tensor, policy: Sequence[str],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``apply`` a fresh ``draw`` of ``policy`` to the images ``x`` (``x`` itself for an empty policy)."""
    if not policy:
        return x
    size = (int(x.shape[-2]), int(x.shape[-1]))
    return apply(x, draw(policy, x.shape[0], size, generator, x.device))
