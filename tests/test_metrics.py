"""Built-in metrics: formulas against references, and the calibration on real digits.

The calibration is the small fast version of the quality targets: candidate sets made
from real digits the metrics have not seen, scored against the held-out split.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from genforge.data.base import Data, TensorData
from genforge.data.digits import DigitsConfig, load
from genforge.data.info import DataInfo
from genforge.data.toy2d import Toy2DConfig, mode_centers
from genforge.data.toy2d import load as load_toy
from genforge.metrics import classes, feature_space, frechet, kid, memorisation, modes, prdc, views
from genforge.metrics.context import EvalContext
from genforge.metrics.extractor import to_size

SUITE = [frechet.fd, kid.kid, prdc.precision, prdc.recall, prdc.density, prdc.coverage,
         classes.classes, memorisation.memorisation]


@pytest.fixture(scope="module")
def digits() -> Data:
    return load(DigitsConfig())


@pytest.fixture(scope="module")
def split(digits):
    """The training split cut in two: 700 images stand for training data, 557 are unseen real digits."""
    perm = torch.randperm(len(digits.train), generator=torch.Generator().manual_seed(0))
    x, y = digits.train.x[perm], digits.train.y[perm]
    data = Data(TensorData(x[:700], y[:700]), digits.test, digits.info)
    return data, x[700:], y[700:]


def score(data: Data, x: torch.Tensor, y=None, shared=None, **options) -> dict[str, float]:
    ctx = EvalContext(None, data, len(x), 0, {"data_source": "digits", **options}, _samples=(x, y),
                      shared=shared if shared is not None else {})
    out: dict[str, float] = {}
    for fn in SUITE:
        out.update(fn(ctx))
    return out


def test_frechet_distance_matches_scipy_sqrtm():
    gen = np.random.default_rng(0)
    a = gen.normal(size=(300, 6)) @ gen.normal(size=(6, 6))
    b = gen.normal(size=(200, 6)) @ gen.normal(size=(6, 6)) + 0.5
    mu_a, mu_b = a.mean(0), b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = ((mu_a - mu_b) ** 2).sum() + np.trace(sa + sb - 2 * linalg.sqrtm(sa @ sb).real)
    got = frechet.frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert got == pytest.approx(ref, rel=1e-9)
    assert frechet.frechet_distance(torch.from_numpy(b), torch.from_numpy(a)) == pytest.approx(got, rel=1e-9)
    assert frechet.frechet_distance(torch.from_numpy(a), torch.from_numpy(a)) < 1e-9


def test_kid_is_the_unbiased_polynomial_mmd():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 3, generator=gen, dtype=torch.float64), torch.randn(5, 3, generator=gen,
                                                                              dtype=torch.float64) + 1

    def k(x, y):
        return (float(x @ y) / 3 + 1) ** 3

    aa = sum(k(a[i], a[j]) for i in range(7) for j in range(7) if i != j) / 42
    bb = sum(k(b[i], b[j]) for i in range(5) for j in range(5) if i != j) / 20
    ab = sum(k(a[i], b[j]) for i in range(7) for j in range(5)) / 35
    assert kid.polynomial_mmd2(a, b) == pytest.approx(aa + bb - 2 * ab, rel=1e-12)


def test_prdc_of_a_set_against_itself():
    data = Data(TensorData(torch.rand(50, 2)), TensorData(torch.rand(60, 2)),
                DataInfo(shape=(2,), kind="vector", value_range=None))
    x = data.test.x
    ctx = EvalContext(None, data, len(x), 0, {}, _samples=(x, None))
    values = {}
    for fn in (prdc.precision, prdc.recall, prdc.density, prdc.coverage):
        values.update(fn(ctx))
    # each point lies in its own ball and in those of the k points that count it a neighbour
    assert values == {"precision": 1.0, "recall": 1.0, "density": pytest.approx(6 / 5), "coverage": 1.0}
    assert "radii:test" in ctx.shared and "radii:samples" in ctx.cache


def test_nearest_upsampled_digits_come_back_exactly():
    x = load(DigitsConfig(size=8)).test.x
    for size in (16, 32):
        up = load(DigitsConfig(size=size)).test.x
        assert torch.equal(to_size(up, 8), x)


def test_calibration_ranks_real_noisy_and_gaussian_digits(split):
    data, x, _ = split
    gen = torch.Generator().manual_seed(1)
    train = data.train.x
    candidates = {
        "real": x,
        "noise 0.1": (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0, 1),
        "noise 0.2": (x + 0.2 * torch.randn(x.shape, generator=gen)).clamp(0, 1),
        "pixel gaussian": (train.mean(0) + train.std(0) * torch.randn(x.shape, generator=gen)).clamp(0, 1),
    }
    shared: dict = {}
    rows = {name: score(data, c, shared=shared) for name, c in candidates.items()}
    for name, row in rows.items():
        print(f"{name:15s}", " ".join(f"{k}={v:.4g}" for k, v in row.items()))
    order = list(rows.values())
    for key in ("fd", "kid"):
        values = [r[key] for r in order]
        assert values == sorted(values) and len(set(values)) == 4, key
    for key in ("precision", "density", "coverage"):
        values = [r[key] for r in order]
        assert values == sorted(values, reverse=True) and len(set(values)) == 4, key
    assert rows["real"]["recall"] > rows["noise 0.2"]["recall"] > rows["pixel gaussian"]["recall"]
    assert rows["real"]["fd"] < 6 and rows["pixel gaussian"]["fd"] > 100
    assert 0.8 < rows["real"]["memorisation_ratio"] < 1.25
    assert rows["real"]["classes_hit"] == 10 and rows["pixel gaussian"]["classes_hit"] < 10
    assert shared["embed:test"][0].shape == (540, 128)  # held-out features: computed once, shared


def test_half_of_the_classes_lowers_recall_and_coverage(split):
    data, x, y = split
    half = x[y < 5]
    full = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(2))[: len(half)]]
    shared: dict = {}
    a, b = score(data, full, shared=shared), score(data, half, shared=shared)
    assert b["recall"] < 0.7 * a["recall"] and b["coverage"] < 0.7 * a["coverage"]
    assert b["classes_hit"] == 5 and a["classes_hit"] == 10
    assert b["precision"] > 0.9  # what it draws is still real


def test_copies_of_100_training_images_score_low_recall_and_memorisation(split):
    data, _, _ = split
    copies = data.train.x[:100].repeat(10, 1, 1, 1)
    row = score(data, copies)
    assert row["recall"] < 0.3
    assert row["memorisation_ratio"] < 0.2
    assert row["coverage"] < 0.8


def test_class_accuracy_of_real_digits_with_their_labels(digits):
    data = Data(digits.train, digits.test, digits.info)
    x, y = digits.test.x, digits.test.y
    ctx = EvalContext(None, data, len(x), 0, {"data_source": "digits", "conditional": True}, _samples=(x, y))
    out = classes.classes(ctx)
    assert out["class_accuracy"] >= 0.98 and out["classes_hit"] == 10
    wrong = EvalContext(None, data, len(x), 0, {"data_source": "digits", "conditional": True},
                        _samples=(x, (y + 1) % 10))
    assert classes.classes(wrong) == {"class_accuracy": pytest.approx(0.0, abs=0.02), "classes_hit": 0.0}


def test_images_are_scored_at_the_extractors_resolution(digits):
    big = Data(digits.train, TensorData(load(DigitsConfig(size=32)).test.x), digits.info)
    ctx = EvalContext(None, big, 10, 0, {"data_source": "digits"}, _samples=(big.test.x[:10], None))
    assert views.sample_pixels(ctx).shape == (10, 64)
    assert feature_space.scored_shape(ctx) == (1, 8, 8)


def test_modes_counts_captured_modes_and_high_quality_samples():
    data = load_toy(Toy2DConfig(dataset="8gaussians", n_train=500, n_test=200))
    centres = torch.tensor(mode_centers("8gaussians"))
    noise = torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    x = centres[torch.arange(400) % 4] + 0.01 * noise
    x[:40] = 10.0  # 10% far from every mode
    ctx = EvalContext(None, data, len(x), 0, {}, _samples=(x, None))
    out = modes.modes(ctx)
    assert out["modes_captured"] == 4.0
    assert out["high_quality"] == 0.9  # noise of 1/2 std: every near point is within 3 std
    assert modes.applies(ctx)
