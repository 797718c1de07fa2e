"""The noise contract in torch (genforge.noise): numpy's numbers bit for bit, and sampling with the
noise computed by tensor operations (as on a CUDA device) gives the samples the host computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genforge import noise as tn
from genforge.noise import DeviceStreams
from genforge.plugins import Plugins
from genforge.testing.subject import Subject
from genforge_runtime import noise as nz
from genforge_runtime.noise import NoiseStreams
from tests.iterative_family import plugin as tiny_plugin

#: (seed, stream, first index, count): block starts and middles, the largest seed, stream and block
RANGES = [(0, 0, 0, 1001), (3, 1, 5, 999), (2**63 - 1, 7, 2**32 + 2, 501),
          (2**64 - 1, 2**32 - 1, 2**66 - 333, 333), (123456789, 2, 1_000_001, 100_000)]


@pytest.mark.parametrize(("seed", "stream", "start", "count"), RANGES)
def test_torch_computes_numpys_numbers_bit_for_bit(seed, stream, start, count):
    w, at = tn._words(seed, stream, start, count, "cpu")
    assert tn._lanes(w, at, count).tolist() == nz.words(seed, stream, start, count).tolist()
    for name in ("uniforms", "normals", "gumbel"):
        got = getattr(tn, name)(seed, stream, start, count, "cpu")
        assert got.dtype == torch.float32
        want = getattr(nz, name)(seed, stream, start, count)
        np.testing.assert_array_equal(got.numpy(), want, err_msg=name)
    for k in (1, 10, 1000):
        got = tn.labels(seed, stream, start, count, k, "cpu")
        assert got.dtype == torch.int64 and got.tolist() == nz.labels(seed, stream, start, count, k).tolist()


def test_device_streams_computed_by_torch_continue_the_requests_streams():
    host, device = DeviceStreams(NoiseStreams(5), torch.device("cpu")), DeviceStreams(NoiseStreams(5),
                                                                                     torch.device("cpu"))
    device.on_device = True  # what a CUDA device does: the tensor operations of genforge.noise
    for draw in (lambda s: s.latents(3, 7), lambda s: s.labels(3, 10), lambda s: s.step(2, (3, 2, 2)),
                 lambda s: s.latents(1, 7), lambda s: s.step(2, (2, 2, 2))):
        a, b = draw(host), draw(device)
        assert a.dtype == b.dtype and torch.equal(a, b)


def test_sampling_with_noise_computed_by_torch_gives_the_hosts_samples(monkeypatch):
    model = Subject("tinyddpm", Plugins(extra=[tiny_plugin])).build("vector")
    options = tiny_plugin.TinyDDPMSampling(steps=5)
    want = model.sample(6, seed=3, options=options, batch_size=4)
    made = DeviceStreams.__init__

    def on_device(self, streams, device):
        made(self, streams, device)
        self.on_device = True

    monkeypatch.setattr(DeviceStreams, "__init__", on_device)
    got = model.sample(6, seed=3, options=options, batch_size=4)
    assert torch.equal(got, want)
    assert not torch.equal(model.sample(6, seed=4, options=options, batch_size=4), want)
