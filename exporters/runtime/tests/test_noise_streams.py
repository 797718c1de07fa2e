"""Noise streams: seeded at once as numpy seeds them one by one; unseeded ones reseeded after fork."""

from __future__ import annotations

import numpy as np
import pytest
from forked import in_forked_child

from genforge_runtime.noise import LABELS_STREAM, LATENT_STREAM, NoiseStreams, spawned_states, stream


@pytest.mark.parametrize("seed", [0, 3, 2**32 - 1, 2**32, 2**63 - 2, 2**128 - 1, 2**128 + 7, 2**200 + 11])
def test_spawned_states_are_numpys_seed_sequence(seed):
    keys = np.array([0, 1, 2, 7, 1001, 2**31, 2**32 - 1])
    want = [np.random.SeedSequence(seed, spawn_key=(int(k),)).generate_state(4, np.uint64) for k in keys]
    np.testing.assert_array_equal(spawned_states(seed, keys), np.stack(want))


def test_prepared_streams_draw_what_streams_made_one_by_one_draw():
    prepared, plain = NoiseStreams(11), NoiseStreams(11)
    prepared.prepare_steps(list(range(0, 40, 3)))
    for j in range(40):
        np.testing.assert_array_equal(prepared.step(j, (2, 5)), plain.step(j, (2, 5)))


def test_a_forked_child_draws_other_unseeded_noise_than_its_parent():
    streams = NoiseStreams(block=16)
    streams.latents(2, 3)
    child = np.frombuffer(in_forked_child(lambda: streams.latents(4, 3).tobytes()), dtype=np.float32)
    parent = streams.latents(4, 3)
    assert child.shape == (12,) and not np.array_equal(child, parent.ravel())


def test_seeded_streams_stay_seeded_in_a_forked_child():
    streams = NoiseStreams(7)
    child = np.frombuffer(in_forked_child(lambda: streams.latents(2, 3).tobytes()), dtype=np.float32)
    np.testing.assert_array_equal(child, NoiseStreams(7).latents(2, 3).ravel())


def test_unseeded_blocks_drawn_in_the_background_keep_the_streams_order():
    streams = NoiseStreams(block=8)
    sizes = [3, 5, 1, 9, 8, 2, 20, 4]
    latents = np.concatenate([streams.latents(n, 6) for n in sizes])
    labels = np.concatenate([streams.labels(n, 10) for n in sizes])
    want = stream(streams.seed, LATENT_STREAM).standard_normal((sum(sizes), 6), dtype=np.float32)
    np.testing.assert_array_equal(latents, want)
    u = stream(streams.seed, LABELS_STREAM).random(sum(sizes))
    np.testing.assert_array_equal(labels, np.minimum((u * 10).astype(np.int64), 9))
    assert streams._pending  # the next blocks are being drawn


def test_threads_sharing_unseeded_streams_get_each_row_of_the_stream_once():
    from concurrent.futures import ThreadPoolExecutor

    streams = NoiseStreams(block=16)  # blocks drawn ahead on a worker while threads take rows
    sizes = [1, 3, 7, 16, 2, 33, 5] * 12
    with ThreadPoolExecutor(8) as pool:
        drawn = list(pool.map(lambda n: streams.latents(n, 4), sizes))
    want = stream(streams.seed, LATENT_STREAM).standard_normal((sum(sizes), 4), dtype=np.float32)
    got = np.concatenate(drawn)
    assert sorted(map(bytes, got)) == sorted(map(bytes, want))  # every row once, none lost or repeated
