"""Spectral features: where ``genforge eval`` compares ``[C, L]`` signals (audio, time series).

A signal's feature vector is, per channel, the power of the whole signal (Hann window, real
FFT) summed over ``BANDS`` equal-width frequency bands from 0 to half the sample rate, as
``log10`` of its ratio to a full-scale sine's power, floored at ``FLOOR`` (-60 dB): ``C *
BANDS`` numbers (fewer bands when ``L // 2 + 1`` frequencies are fewer). A full-scale tone
scores about 0.2 in its band, silence -6. The features are fixed (nothing is trained),
compare what a signal sounds like (which frequencies carry how much energy, down to 60 dB
below full scale) and ignore phase and timing: a tone and the same tone shifted in time
have the same features.
"""

from __future__ import annotations

import torch

#: Frequency bands per channel.
BANDS = 64
#: Power (relative to a full-scale sine's) below which a band counts as silent: -60 dB.
FLOOR = 1e-6


def bands(length: int) -> int:
    """The bands a signal of ``length`` samples is summarised in."""
    return min(BANDS, length // 2 + 1)


def spectral_features(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, L]`` signals as float64 ``[N, C * bands(L)]``: log10 band power over a full-scale sine's."""
    x = x.double()
    length = x.shape[-1]
    window = torch.hann_window(length, periodic=False, dtype=torch.float64, device=x.device)
    # a sine of amplitude A at a frequency bin has A**2 there after this scaling
    power = (torch.fft.rfft(x * window).abs() / (window.sum() / 2)).square()  # [N, C, L // 2 + 1]
    edges = torch.linspace(0, power.shape[-1], bands(length) + 1, dtype=torch.float64).round().long()
    total = torch.nn.functional.pad(power.cumsum(-1), (1, 0))
    return torch.log10(total[..., edges[1:]] - total[..., edges[:-1]] + FLOOR).flatten(1)
