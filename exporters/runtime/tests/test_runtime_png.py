"""png_bytes: a batch as the bytes of one PNG grid, per layout, dtype and channel count."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

import genforge_runtime
from genforge_runtime.cli import main
from genforge_runtime.grid import PNG_HINT


def decode(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize("channels", [1, 3])
def test_float_nchw_and_uint8_nhwc_give_the_same_picture(channels):
    x = np.random.default_rng(0).random((6, channels, 4, 4), dtype=np.float32)
    as_uint8 = (x.transpose(0, 2, 3, 1) * 255 + 0.5).astype(np.uint8)
    png = genforge_runtime.png_bytes(x, "NCHW", nrow=3, pad=1, min_side=1)
    assert genforge_runtime.png_bytes(as_uint8, "NHWC", nrow=3, pad=1, min_side=1) == png
    img = decode(png)
    assert img.mode == ("L" if channels == 1 else "RGB") and img.size == (3 * 5 + 1, 2 * 5 + 1)
    pixels = np.asarray(img).reshape(11, 16, channels)
    np.testing.assert_array_equal(pixels[6:10, 11:15], as_uint8[5])  # row 1, column 2: sample 5
    assert (pixels[0] == 255).all()  # the padding is white


def test_one_png_per_sample_is_each_image_at_its_own_size():
    x = np.random.default_rng(1).random((3, 1, 5, 7), dtype=np.float32)
    for i in range(3):
        img = decode(genforge_runtime.png_bytes(x[i : i + 1], "NCHW", pad=0, min_side=1))
        assert img.size == (7, 5)
        np.testing.assert_array_equal(np.asarray(img), (x[i, 0] * 255 + 0.5).astype(np.uint8))


def test_small_images_are_enlarged_and_float_values_clipped():
    x = np.array([[[[-0.5, 2.0], [0.0, 1.0]]]], dtype=np.float16)
    img = np.asarray(decode(genforge_runtime.png_bytes(x, "NCHW", pad=0)))
    assert img.shape == (32, 32)  # 2 px shown as 32 (min_side)
    assert (img[0, 0], img[0, 31], img[31, 0], img[31, 31]) == (0, 255, 0, 255)


def test_the_sampled_grid_is_the_one_genforge_run_writes(toy, tmp_path):
    out = tmp_path / "grid.png"
    assert main([str(toy), "-n", "9", "--seed", "5", "--device", "cpu", "--out", str(out)]) == 0
    s = genforge_runtime.load(toy, device="cpu")
    assert genforge_runtime.png_bytes(s.sample(9, seed=5), s.info["output_layout"]) == out.read_bytes()


F32 = np.float32


@pytest.mark.parametrize(("samples", "layout", "kwargs", "message"), [
    (np.zeros((5, 2), F32), "NC", {}, r"a PNG grid needs image samples; these are NC \[5, 2\]"),
    (np.zeros((2, 1, 4, 4), F32), "NDDD", {}, "a PNG grid needs image samples; these are NDDD"),
    (np.zeros((2, 5, 4, 4), F32), "NCHW", {}, r"1 to 4 channels .* NCHW samples \[2, 5, 4, 4\] have 5"),
    (np.zeros((2, 1, 4, 6), F32), "NHWC", {}, r"NHWC samples \[2, 1, 4, 6\] have 6"),
    (np.zeros((2, 4, 4, 1), np.int64), "NHWC", {}, "needs uint8 or float samples; these are int64"),
    (np.zeros((2, 1, 4, 4), F32), "NCHW", {"nrow": 0}, "nrow: expected an integer >= 1, got 0"),
    (np.zeros((2, 1, 4, 4), F32), "NCHW", {"pad": -1}, "pad: expected an integer >= 0"),
])
def test_samples_that_are_not_images_are_one_line_errors(samples, layout, kwargs, message):
    with pytest.raises(ValueError, match=message) as excinfo:
        genforge_runtime.png_bytes(samples, layout, **kwargs)
    assert "\n" not in str(excinfo.value)


def test_without_pillow_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL fails
    with pytest.raises(RuntimeError, match="needs Pillow") as excinfo:
        genforge_runtime.png_bytes(np.zeros((1, 1, 2, 2), F32), "NCHW")
    assert str(excinfo.value) == PNG_HINT


def test_dir_lists_the_public_names():
    assert dir(genforge_runtime) == sorted(genforge_runtime.__all__)
    assert "png_bytes" in dir(genforge_runtime) and "load" in dir(genforge_runtime)
