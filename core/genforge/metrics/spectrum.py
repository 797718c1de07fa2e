"""Spectral features: where ``genforge eval`` compares ``[C, L]`` signals (audio, time series).

A signal's feature vector is, per channel, the log power spectrum of the whole signal
(Hann window, real FFT, power divided by ``L``) averaged over ``BANDS`` equal-width
frequency bands from 0 to half the sample rate: ``C * BANDS`` numbers (fewer bands when
``L // 2 + 1`` frequencies are fewer). It is fixed (nothing is trained), compares what a
signal sounds like (which frequencies carry how much energy) and ignores phase and
timing: a tone and the same tone shifted in time have the same features.
"""

from __future__ import annotations

import torch

#: Frequency bands per channel.
BANDS = 64
#: Floor added to the band power before the logarithm (silence is about -23, not -inf).
EPS = 1e-10


def bands(length: int) -> int:
    """The bands a signal of ``length`` samples is summarised in."""
    return min(BANDS, length // 2 + 1)


def spectral_features(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, L]`` signals as float64 ``[N, C * bands(L)]``: log mean power per frequency band."""
    x = x.double()
    length = x.shape[-1]
    window = torch.hann_window(length, periodic=False, dtype=torch.float64, device=x.device)
    power = torch.fft.rfft(x * window).abs().square() / length  # [N, C, L // 2 + 1]
    edges = torch.linspace(0, power.shape[-1], bands(length) + 1, dtype=torch.float64).round().long()
    total = torch.nn.functional.pad(power.cumsum(-1), (1, 0))
    mean = (total[..., edges[1:]] - total[..., edges[:-1]]) / (edges[1:] - edges[:-1])
    return torch.log(mean + EPS).flatten(1)
