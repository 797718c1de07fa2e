"""The ``wav-folder`` data source and the PCM WAV reader it uses."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from genforge import wav
from genforge.cli import main
from genforge.data import wav_folder
from genforge.data.checks import data_problems
from genforge.data.info import DataInfo
from genforge.errors import DataError


def write_pcm(path: Path, frames: np.ndarray, width: int = 2, rate: int = 4000) -> Path:
    """Write integer PCM ``[L, C]`` (unsigned for 8-bit) with the ``wave`` module."""
    frames = np.atleast_2d(np.asarray(frames).T).T
    path.parent.mkdir(parents=True, exist_ok=True)
    if width == 3:
        v = frames.astype("<i4").reshape(-1, 1).view(np.uint8)[:, :3]
        raw = v.tobytes()
    else:
        raw = frames.astype({1: "u1", 2: "<i2", 4: "<i4"}[width]).tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(frames.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(raw)
    return path


def tones(root: Path, per_class: int = 5, length: int = 64, rate: int = 4000) -> Path:
    """A folder of 16-bit tones, one subfolder per frequency."""
    t = np.arange(length) / rate
    for f0 in (250, 500):
        for i in range(per_class):
            x = 0.5 * np.sin(2 * np.pi * f0 * t + i)
            write_pcm(root / f"hz{f0}" / f"{i}.wav", np.round(x * 32767), rate=rate)
    return root


def load(path: Path, **options) -> object:
    return wav_folder.load(wav_folder.WavFolderConfig(path=str(path), **options))


def test_class_subfolders_give_labelled_signals_with_their_rate(tmp_path):
    data = load(tones(tmp_path / "t"), test_fraction=0.2)
    info = data.info
    assert (info.kind, info.shape, info.sample_rate) == ("signal", (1, 64), 4000)
    assert info.value_range == (-1.0, 1.0)
    assert info.class_names == ("hz250", "hz500") and (info.num_train, info.num_test) == (8, 2)
    (x, y), yt = data.tensors("train"), data.tensors("test")[1]
    assert sorted(y.tolist() + yt.tolist()) == [0] * 5 + [1] * 5
    peak_hz = np.abs(np.fft.rfft(x[:, 0].numpy())).argmax(1) * 4000 / 64
    assert peak_hz.tolist() == [(250, 500)[k] for k in y.tolist()]  # each label is its folder's tone
    assert 0.49 < float(x.abs().max()) <= 0.5 and data_problems(data) == []
    back = DataInfo.from_dict(info.to_dict())
    assert back == info


@pytest.mark.parametrize(("width", "ints", "floats"), [
    (1, [0, 128, 255], [-1.0, 0.0, 127 / 128]),
    (2, [-32768, 0, 16384], [-1.0, 0.0, 0.5]),
    (3, [-(2**23), 2**22, 2**23 - 1], [-1.0, 0.5, 1 - 2.0**-23]),
    (4, [-(2**31), 0, 2**30], [-1.0, 0.0, 0.5]),
])
def test_every_pcm_width_reads_to_full_scale_floats(tmp_path, width, ints, floats):
    header, x = wav.read(write_pcm(tmp_path / "a.wav", np.array(ints), width=width), 10)
    assert header.width == width and x.shape == (1, 3)
    np.testing.assert_allclose(x[0], floats, rtol=0, atol=1e-7)


def test_channels_length_and_mono(tmp_path):
    stereo = np.stack([np.full(10, 16384), np.full(10, -16384)], 1)
    write_pcm(tmp_path / "s" / "a.wav", stereo)
    write_pcm(tmp_path / "s" / "b.wav", np.stack([np.full(4, 8192), np.zeros(4)], 1))
    data = load(tmp_path / "s", test_fraction=0.0)
    assert data.info.shape == (2, 10)  # the longest file; the short one padded with silence
    x = data.tensors("train")[0]
    short = x[int(np.argmin([float(r.abs().sum()) for r in x]))]
    assert short[0, :4].tolist() == [0.25] * 4 and short[:, 4:].abs().sum() == 0
    cut = load(tmp_path / "s", test_fraction=0.0, length=3)
    assert cut.info.shape == (2, 3)
    write_pcm(tmp_path / "s" / "c.wav", np.full(6, 16384))  # mono beside stereo
    with pytest.raises(DataError, match=r"c\.wav.*1 channels, but .*a\.wav.* has 2.*data\.mono"):
        load(tmp_path / "s")
    mixed = load(tmp_path / "s", test_fraction=0.0, mono=True)
    assert mixed.info.shape == (1, 10)
    assert sorted(round(float(r[0, 0]), 4) for r in mixed.tensors("train")[0]) == [0.0, 0.125, 0.5]


@pytest.mark.parametrize(("make", "words"), [
    (lambda d: write_pcm(d / "b.wav", np.zeros(8), rate=8000),
     r"wav file .*b\.wav.*8000 Hz, but .*a\.wav.* is 4000 Hz"),
    (lambda d: (d / "b.wav").write_bytes(b"RIFF0000WAVEjunk"), r"wav file .*b\.wav.*not a PCM WAV file"),
    (lambda d: (d / "b.wav").write_bytes(b"\x00" * 40), r"wav file .*b\.wav.*not a PCM WAV file"),
    (lambda d: write_pcm(d / "b.wav", np.zeros(0)), r"wav file .*b\.wav.*holds no samples"),
    (lambda d: (d / "b.wav").write_bytes(
        (d / "a.wav").read_bytes()[:-6]), r"wav file .*b\.wav.*cut short.*8 frames"),
])
def test_a_bad_file_is_one_line_naming_it_with_exit_2(tmp_path, capsys, make, words):
    folder = tmp_path / "w"
    write_pcm(folder / "a.wav", np.zeros(8))
    make(folder)
    with pytest.raises(DataError, match=words):
        load(folder)
    code = main(["train", "--model", "vae", "--data", "wav-folder", "--set", f"data.path={folder}",
                 "--out", str(tmp_path / "run"), "--steps", "1", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith("genforge: error: ") and "b.wav" in err


def test_float_wav_is_refused_with_a_hint(tmp_path):
    raw = (tmp_path / "a.wav")
    write_pcm(raw, np.zeros(4, dtype=np.int32), width=4)
    data = bytearray(raw.read_bytes())
    data[20:22] = (3).to_bytes(2, "little")  # WAVE_FORMAT_IEEE_FLOAT
    raw.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"a\.wav.*not a PCM WAV file.*convert it to 8-, 16-, 24- or 32-bit"):
        load(tmp_path)


def test_an_empty_folder_and_a_bad_sample_rate_in_a_checkpoint(tmp_path):
    with pytest.raises(DataError, match=r"no \.wav files"):
        load(tmp_path)
    with pytest.raises(ValueError, match="sample_rate 0"):
        DataInfo.from_dict({"shape": [1, 8], "kind": "signal", "sample_rate": 0})
