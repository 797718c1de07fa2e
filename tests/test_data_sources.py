"""Built-in data sources: digits, npz, image-folder and toy2d."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from pydantic import ValidationError

from genforge.data import digits, image_folder, npz, toy2d
from genforge.errors import DataError

# ---------------------------------------------------------------- digits


def test_digits_native() -> None:
    data = digits.load(digits.DigitsConfig())
    info = data.info
    assert info.shape == (1, 8, 8) and info.kind == "image"
    assert info.num_classes == 10 and info.class_names == tuple(str(i) for i in range(10))
    assert len(data.train) + len(data.test) == 1797
    assert (info.num_train, info.num_test) == (len(data.train), len(data.test))
    x = torch.cat([data.train.x, data.test.x])
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9
    assert set(torch.cat([data.train.y, data.test.y]).tolist()) == set(range(10))


def test_digits_nearest_upsampling_pools_back() -> None:
    small = digits.load(digits.DigitsConfig(size=8))
    big = digits.load(digits.DigitsConfig(size=32))
    assert big.info.shape == (1, 32, 32) and big.train.x.shape[1:] == (1, 32, 32)
    assert torch.equal(F.avg_pool2d(big.train.x, 4), small.train.x)
    assert torch.equal(big.train.y, small.train.y)


# ---------------------------------------------------------------- npz


def _npz(tmp_path: Path, name: str = "d.npz", **arrays: np.ndarray) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def test_npz_uint8_nhwc_with_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(50, 6, 6, 3), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(50)
    y = np.arange(50) % 4
    data = npz.load(npz.NpzConfig(path=_npz(tmp_path, x=x, y=y), test_fraction=0.2))
    info = data.info
    assert info.shape == (3, 6, 6) and info.kind == "image" and info.value_range == (0.0, 1.0)
    assert info.num_classes == 4 and info.class_names == ("0", "1", "2", "3")
    assert (len(data.train), len(data.test)) == (40, 10) == (info.num_train, info.num_test)
    # every sample comes back exactly once, transposed to NCHW and scaled by 1/255
    got = torch.cat([data.train.x, data.test.x])
    labels = torch.cat([data.train.y, data.test.y])
    ids = (got[:, 0, 0, 0] * 255).round().long()  # sample i has x[i, 0, 0, 0] == i
    assert sorted(ids.tolist()) == list(range(50))
    want = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(got, want[ids]) and torch.equal(labels, torch.from_numpy(y)[ids])
    assert got.min() >= 0 and got.max() <= 1


def test_npz_split_is_seeded(tmp_path: Path) -> None:
    x = np.arange(20, dtype=np.float32).reshape(20, 1)
    path = _npz(tmp_path, x=x)
    a = npz.load(npz.NpzConfig(path=path, test_fraction=0.25, split_seed=3))
    b = npz.load(npz.NpzConfig(path=path, test_fraction=0.25, split_seed=3))
    c = npz.load(npz.NpzConfig(path=path, test_fraction=0.25, split_seed=4))
    assert torch.equal(a.test.x, b.test.x) and not torch.equal(a.test.x, c.test.x)
    assert len(a.test) == 5
    assert sorted(torch.cat([a.train.x, a.test.x]).flatten().tolist()) == list(range(20))
    none = npz.load(npz.NpzConfig(path=path, test_fraction=0.0))
    assert none.test is None and len(none.train) == 20 and none.info.num_test == 0


def test_npz_layouts(tmp_path: Path) -> None:
    gray = np.full((4, 5, 7), 0.5, dtype=np.float32)
    d = npz.load(npz.NpzConfig(path=_npz(tmp_path, "g.npz", x=gray), test_fraction=0))
    assert d.info.shape == (1, 5, 7) and d.info.num_classes == 0 and d.train.y is None
    nchw = np.zeros((4, 3, 5, 5), dtype=np.float32)
    d = npz.load(npz.NpzConfig(path=_npz(tmp_path, "c.npz", x=nchw), test_fraction=0))
    assert d.info.shape == (3, 5, 5)
    # ambiguous [N, 3, 5, 3]: auto reads NCHW, an explicit layout overrides it
    amb = np.zeros((4, 3, 5, 3), dtype=np.float32)
    p = _npz(tmp_path, "a.npz", x=amb)
    assert npz.load(npz.NpzConfig(path=p, test_fraction=0)).info.shape == (3, 5, 3)
    assert npz.load(npz.NpzConfig(path=p, layout="NHWC", test_fraction=0)).info.shape == (3, 3, 5)


def test_npz_value_range_and_float_images(tmp_path: Path) -> None:
    x = np.linspace(-1, 1, 2 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    p = _npz(tmp_path, x=x)
    d = npz.load(npz.NpzConfig(path=p, value_range=(-1, 1), test_fraction=0))
    got = d.train.x
    assert got.min().item() == pytest.approx(0.0) and got.max().item() == pytest.approx(1.0)
    unit = _npz(tmp_path, "u.npz", x=(x + 1) / 2)
    d = npz.load(npz.NpzConfig(path=unit, test_fraction=0))
    assert torch.allclose(d.train.x.sort(0).values,
                          torch.from_numpy((x + 1) / 2).sort(0).values)
    u16 = _npz(tmp_path, "w.npz", x=np.array([[[0, 65535]]], dtype=np.uint16))
    d = npz.load(npz.NpzConfig(path=u16, value_range=(0, 65535), test_fraction=0))
    assert d.train.x.flatten().tolist() == [0.0, 1.0]


def test_npz_vectors_and_class_names(tmp_path: Path) -> None:
    x = np.random.default_rng(1).normal(size=(30, 3)) * 10
    y = np.array([0, 1, 2] * 10)
    p = _npz(tmp_path, x=x, labels=y)
    d = npz.load(npz.NpzConfig(path=p, y_key="labels", class_names=["a", "b", "c", "d"]))
    assert d.info.kind == "vector" and d.info.shape == (3,) and d.info.value_range is None
    assert d.info.num_classes == 4 and d.info.class_names == ("a", "b", "c", "d")
    assert torch.allclose(torch.cat([d.train.x, d.test.x]).sort(0).values,
                          torch.from_numpy(x).float().sort(0).values)
    # the default y_key "y" is absent here: unlabelled
    d = npz.load(npz.NpzConfig(path=p))
    assert d.info.num_classes == 0 and d.train.y is None
    d = npz.load(npz.NpzConfig(path=p, y_key=None))
    assert d.info.num_classes == 0


@pytest.mark.parametrize(("arrays", "options", "words"), [
    ({"x": np.zeros((3, 2))}, {"x_key": "images"}, ["data.x_key", "'images'", "available keys: x"]),
    ({"x": np.zeros((3, 2, 2, 2, 2))}, {}, ["'x'", "shape [3, 2, 2, 2, 2]"]),
    ({"x": np.zeros((0, 2))}, {}, ["'x'", "non-empty"]),
    ({"x": np.array(["a", "b"])}, {}, ["'x'", "not numeric"]),
    ({"x": np.full((3, 1, 2, 2), 2.0)}, {}, ["'x'", "data.value_range"]),
    ({"x": np.zeros((3, 1, 2, 2), dtype=np.int16)}, {}, ["'x'", "data.value_range"]),
    ({"x": np.full((3, 1, 2, 2), 5.0)}, {"value_range": (0, 1)},
     ["'x'", "outside data.value_range"]),
    ({"x": np.full((3, 2), np.nan)}, {}, ["'x'", "NaN"]),
    ({"x": np.zeros((3, 2)), "y": np.array([0, 1])}, {}, ["'y'", "data.y_key", "[3]"]),
    ({"x": np.zeros((3, 2)), "y": np.array([0.0, 0.5, 1.0])}, {}, ["'y'", "integer"]),
    ({"x": np.zeros((3, 2)), "y": np.array([0, -1, 1])}, {}, ["'y'", "negative"]),
    ({"x": np.zeros((3, 2)), "y": np.array([0, 1, 2])}, {"class_names": ["a", "b"]},
     ["data.class_names", "2 names"]),
    ({"x": np.zeros((3, 2))}, {"class_names": ["a"]}, ["data.class_names", "no labels"]),
    ({"x": np.zeros((1, 2))}, {"test_fraction": 0.9}, ["data.test_fraction"]),
])
def test_npz_errors(tmp_path: Path, arrays: dict, options: dict, words: list[str]) -> None:
    path = _npz(tmp_path, **arrays)
    with pytest.raises(DataError) as err:
        npz.load(npz.NpzConfig(path=path, **options))
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_npz_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.npz"
    with pytest.raises(DataError, match=r"data\.path .*nope\.npz.*no such file"):
        npz.load(npz.NpzConfig(path=str(missing)))
    text = tmp_path / "text.npz"
    text.write_text("not an archive\n")
    with pytest.raises(DataError, match=r"text\.npz.*not a readable \.npz"):
        npz.load(npz.NpzConfig(path=str(text)))
    single = tmp_path / "single.npy"
    np.save(single, np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"single\.npy.*expected a \.npz"):
        npz.load(npz.NpzConfig(path=str(single)))
    with pytest.raises(DataError, match="not a file"):
        npz.load(npz.NpzConfig(path=str(tmp_path)))
    # object arrays would need pickle, which is never allowed
    obj = tmp_path / "obj.npz"
    np.savez(obj, x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match=r"obj\.npz.*'x'.*pickle"):
        npz.load(npz.NpzConfig(path=str(obj)))


def test_npz_config_validation() -> None:
    with pytest.raises(ValidationError):
        npz.NpzConfig()  # path is required
    with pytest.raises(ValidationError):
        npz.NpzConfig(path="a.npz", test_fraction=1.0)
    with pytest.raises(ValidationError):
        npz.NpzConfig(path="a.npz", value_range=(1, 0))
    with pytest.raises(ValidationError):
        npz.NpzConfig(path="a.npz", colour=True)


# ---------------------------------------------------------------- image-folder


def _img(path: Path, size: tuple[int, int], color: tuple[int, int, int], mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).convert(mode).save(path)


def test_image_folder_classes(tmp_path: Path) -> None:
    _img(tmp_path / "red" / "a.png", (10, 10), (255, 0, 0))
    _img(tmp_path / "red" / "b.PNG", (20, 12), (255, 0, 0))
    _img(tmp_path / "blue" / "c.jpg", (9, 16), (0, 0, 255))
    _img(tmp_path / "blue" / "d.JPEG", (8, 8), (0, 0, 255), mode="L")
    _img(tmp_path / "stray.png", (8, 8), (0, 255, 0))  # ignored: subfolders are the classes
    (tmp_path / "empty").mkdir()
    (tmp_path / "red" / "notes.txt").write_text("skip me")
    data = image_folder.load(image_folder.ImageFolderConfig(path=str(tmp_path), size=6,
                                                            test_fraction=0.25))
    info = data.info
    assert info.shape == (3, 6, 6) and info.kind == "image" and info.value_range == (0.0, 1.0)
    assert info.class_names == ("blue", "red") and info.num_classes == 2
    assert (len(data.train), len(data.test)) == (3, 1)
    x = torch.cat([data.train.x, data.test.x])
    y = torch.cat([data.train.y, data.test.y])
    assert x.shape == (4, 3, 6, 6) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    red = x[y == 1]
    assert red.shape[0] == 2
    assert torch.allclose(red[:, 0], torch.ones(2, 6, 6)) and red[:, 1:].abs().max() == 0
    blue = x[y == 0]
    assert (blue[:, 2] > 0.05).all()  # the grayscale one is dark blue turned gray


def test_image_folder_flat_grayscale_crop(tmp_path: Path) -> None:
    # left half black, right half white, 12 wide: the centre crop keeps columns 2..9
    arr = np.zeros((8, 12), dtype=np.uint8)
    arr[:, 6:] = 255
    Image.fromarray(arr).save(tmp_path / "half.png")
    _img(tmp_path / "plain.jpg", (5, 5), (255, 255, 255))
    data = image_folder.load(image_folder.ImageFolderConfig(path=str(tmp_path), size=8,
                                                            channels=1, test_fraction=0))
    assert data.info.shape == (1, 8, 8) and data.info.num_classes == 0
    assert data.test is None and data.train.y is None and len(data.train) == 2
    half = data.train.x[0, 0] if data.train.x[0].mean() < 0.9 else data.train.x[1, 0]
    assert torch.equal(half[:, :4], torch.zeros(8, 4))
    assert torch.equal(half[:, 4:], torch.ones(8, 4))


def test_image_folder_errors(tmp_path: Path) -> None:
    cfg = image_folder.ImageFolderConfig
    with pytest.raises(DataError, match=r"data\.path .*missing.*no such folder"):
        image_folder.load(cfg(path=str(tmp_path / "missing")))
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=r"data\.path .*empty.*no \.png/\.jpg/\.jpeg images"):
        image_folder.load(cfg(path=str(tmp_path / "empty")))
    bad = tmp_path / "bad"
    _img(bad / "ok.png", (4, 4), (1, 2, 3))
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(DataError, match=r"image .*broken\.png.*cannot be read") as err:
        image_folder.load(cfg(path=str(bad)))
    assert "\n" not in str(err.value)
    afile = tmp_path / "file.png"
    _img(afile, (4, 4), (1, 2, 3))
    with pytest.raises(DataError, match="not a folder"):
        image_folder.load(cfg(path=str(afile)))
    with pytest.raises(ValidationError):
        cfg(path=".", size=0)
    with pytest.raises(ValidationError):
        cfg(path=".", channels=2)


# ---------------------------------------------------------------- toy2d


@pytest.mark.parametrize(("dataset", "k"), [("8gaussians", 8), ("25gaussians", 25)])
def test_toy2d_mixtures(dataset: str, k: int) -> None:
    data = toy2d.load(toy2d.Toy2DConfig(dataset=dataset, n_train=2000, n_test=300, seed=5))
    info = data.info
    assert info.shape == (2,) and info.kind == "vector" and info.value_range is None
    assert info.num_classes == k and info.class_names[0] == "mode0"
    assert info.class_names[-1] == f"mode{k - 1}" and len(info.class_names) == k
    assert data.train.x.shape == (2000, 2) and data.test.x.shape == (300, 2)
    assert (info.num_train, info.num_test) == (2000, 300)
    centers = torch.tensor(toy2d.mode_centers(dataset))
    assert centers.shape == (k, 2)
    # each point sits within a few std of the centre its label names
    dist = (data.train.x - centers[data.train.y]).norm(dim=1)
    assert dist.max() < 6 * toy2d.DEFAULT_STDS[dataset]
    assert set(data.train.y.tolist()) == set(range(k))
    # the held-out points come from another stream
    again = toy2d.load(toy2d.Toy2DConfig(dataset=dataset, n_train=2000, n_test=300, seed=5))
    assert torch.equal(again.train.x, data.train.x) and torch.equal(again.test.x, data.test.x)
    assert not torch.equal(data.train.x[:300], data.test.x)
    other = toy2d.load(toy2d.Toy2DConfig(dataset=dataset, n_train=2000, n_test=0, seed=6))
    assert other.test is None and not torch.equal(other.train.x, data.train.x)


def test_toy2d_centres() -> None:
    ring = toy2d.mode_centers("8gaussians")
    assert all(math.isclose(math.hypot(*c), 2.0) for c in ring)
    grid = toy2d.mode_centers("25gaussians")
    assert sorted({c[0] for c in grid}) == [-4, -2, 0, 2, 4] and len(set(grid)) == 25
    assert toy2d.mode_centers("swissroll") == []
    with pytest.raises(DataError, match="data.dataset 'moons'"):
        toy2d.mode_centers("moons")
    assert toy2d.DEFAULT_STDS == {"8gaussians": 0.02, "25gaussians": 0.05, "swissroll": 0.25}


def test_toy2d_swissroll_and_std() -> None:
    data = toy2d.load(toy2d.Toy2DConfig(dataset="swissroll", n_train=1000, n_test=100))
    assert data.info.num_classes == 0 and data.info.class_names == () and data.train.y is None
    x = data.train.x
    assert x.shape == (1000, 2) and x.abs().max() < 4  # (x, z) / 5 spans about [-2.5, 3]
    sharp = toy2d.load(toy2d.Toy2DConfig(n_train=500, n_test=0, std=0.0))
    assert (sharp.train.x - torch.tensor(toy2d.mode_centers("8gaussians"))[sharp.train.y]
            ).abs().max() < 1e-6
    with pytest.raises(ValidationError):
        toy2d.Toy2DConfig(n_train=0)
    with pytest.raises(ValidationError):
        toy2d.Toy2DConfig(dataset="moons")
