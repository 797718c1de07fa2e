"""Signals end to end: a WAV folder of tones trains with default settings, previews are waveform
plots, and ``genforge sample --out x.wav`` writes playable PCM WAV at the data's rate."""

from __future__ import annotations

import importlib.util
import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genforge
from genforge.cli import main
from genforge.metrics.spectrum import BANDS, spectral_features
from genforge_runtime.grid import waveforms

RATE, LENGTH, TONES = 4000, 256, (250, 500, 1000)
INK = (30, 60, 160)
TILE_H, TILE_W, PAD = 40, 128, 2


@pytest.fixture(scope="module")
def tones(tmp_path_factory) -> Path:
    """24 mono 16-bit tones per class, one class per frequency, random phase and loudness."""
    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    t = np.arange(LENGTH) / RATE
    for f0 in TONES:
        (root / f"hz{f0}").mkdir()
        for i in range(24):
            x = rng.uniform(0.3, 0.8) * np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi))
            with wave.open(str(root / f"hz{f0}" / f"{i:02d}.wav"), "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(RATE)
                f.writeframes(np.round(x * 32767).astype("<i2").tobytes())
    return root


@pytest.fixture(scope="module", params=["vae", "cfm"])
def trained(request, tones, tmp_path_factory) -> tuple[str, Path]:
    """A run of the model with its default settings on the tones (three steps)."""
    out = tmp_path_factory.mktemp("runs") / request.param
    genforge.train({"model": {"name": request.param}, "data": {"name": "wav-folder", "path": str(tones)},
                    "out": str(out), "trainer": {"steps": 3, "progress": False}})
    return request.param, out


def tiles(png: Path) -> list[np.ndarray]:
    """The plots of a preview grid, cut at their grid positions."""
    img = np.asarray(Image.open(png).convert("RGB"))
    rows, cols = (img.shape[0] - PAD) // (TILE_H + PAD), (img.shape[1] - PAD) // (TILE_W + PAD)
    assert img.shape[:2] == (rows * (TILE_H + PAD) + PAD, cols * (TILE_W + PAD) + PAD)
    return [img[PAD + r * (TILE_H + PAD):][:TILE_H, PAD + c * (TILE_W + PAD):][:, :TILE_W]
            for r in range(rows) for c in range(cols)]


def test_the_networks_are_1d_convolutions(trained):
    card = (trained[1] / "README.md").read_text()
    assert f"signal samples of shape 1x{LENGTH}, 3 classes, {RATE} Hz)" in card
    model = genforge.load(trained[1], device="cpu").model
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]
    assert convs and all(isinstance(m, torch.nn.Conv1d) for m in convs)
    assert convs[0].in_channels == 1  # the first convolution takes the mono signal itself


def test_eval_compares_spectra(trained, capsys):
    assert main(["eval", str(trained[1]), "--n", "30", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "data: signals of 1 channel x 256 samples; features: log10 power in 64 frequency bands" in out
    assert {line.split()[0] for line in out.splitlines()[5:] if line.strip()} >= {
        "fd", "kid", "precision", "recall", "density", "coverage", "memorisation_ratio"}


def test_spectral_features_place_a_tone_in_its_band_whatever_its_phase():
    t = np.arange(LENGTH) / RATE
    tones = torch.tensor(np.stack([[np.sin(2 * np.pi * 1000 * t + phase)] for phase in (0.0, 1.0, 2.0)]))
    features = spectral_features(tones)
    assert features.shape == (3, BANDS) and features.dtype == torch.float64
    band = int(1000 / (RATE / 2) * BANDS)
    assert set(features.argmax(1).tolist()) <= {band - 1, band}  # the band holding 1 kHz
    assert (features - features[0]).abs().max() < 0.05 * features[0].abs().max()
    assert 0.0 < float(features[0, band - 1 : band + 1].max()) < 0.3  # a full-scale tone: about 1
    stereo = spectral_features(torch.stack([0.01 * tones[0, 0], torch.zeros(LENGTH)])[None])
    assert stereo.shape == (1, 2 * BANDS) and bool((stereo[0, BANDS:] == -6.0).all())  # silence: the floor
    assert -4.3 < float(stereo[0, :BANDS].max()) < -3.7  # 40 dB quieter: 4 lower


def test_the_preview_is_a_grid_of_waveform_plots(trained):
    model, out = trained
    plots = tiles(out / "samples" / "step-000003.png")
    drawn = [p for p in plots if (p == INK).all(-1).any()]
    assert len(drawn) == (len(TONES) * 10 if model == "cfm" else 64)  # cfm: a row of 10 per class
    for plot in drawn:
        inked = (plot == INK).all(-1)
        assert inked[:, 1:-1].any(0).all()  # a line through every column inside the frame


def test_sample_writes_pcm_wav_at_the_data_rate(trained, tmp_path, capsys):
    _, out = trained
    assert main(["sample", str(out), "-n", "1", "--out", str(tmp_path / "one.wav")]) == 0
    assert main(["sample", str(out), "-n", "3", "--seed", "1", "--out", str(tmp_path / "x.wav")]) == 0
    assert "x-000.wav ... x-002.wav" in capsys.readouterr().out
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["one.wav", "x-000.wav", "x-001.wav", "x-002.wav"]
    loaded = genforge.load(out, device="cpu")
    expected = loaded.sample(3, seed=1).numpy()
    for i, name in enumerate(written[1:]):
        with wave.open(str(tmp_path / name)) as f:
            header = (f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes())
            assert header == (RATE, 1, 2, LENGTH)
            pcm = np.frombuffer(f.readframes(LENGTH), "<i2") / 32767
        np.testing.assert_allclose(pcm, np.clip(expected[i, 0], -1, 1), atol=1 / 32767)
    if importlib.util.find_spec("soundfile") is not None:  # read by a second reader where installed
        import soundfile

        data, rate = soundfile.read(str(tmp_path / "one.wav"))
        assert rate == RATE and data.shape == (LENGTH,)


def test_wav_output_needs_a_sample_rate(tmp_path, capsys):
    path = tmp_path / "v.npz"
    np.savez(path, x=np.random.default_rng(0).standard_normal((40, 16)).astype(np.float32))
    genforge.train({"model": {"name": "vae", "hidden": 8}, "data": {"name": "npz", "path": str(path)},
                    "out": str(tmp_path / "run"),
                    "trainer": {"steps": 1, "batch_size": 8, "progress": False}})
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genforge: error: --out") and "no sample rate" in err and len(err.splitlines()) == 1
    assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "x.mp3")]) == 2
    assert "expected a .png, .npy or .wav file" in capsys.readouterr().err
    assert not list(tmp_path.glob("x*"))


def test_waveform_plots_have_one_lane_per_channel_on_a_shared_scale():
    t = np.arange(300) / 300
    stereo = np.stack([np.sin(2 * np.pi * 3 * t), 0.25 * np.sin(2 * np.pi * 3 * t)])[None]
    img = waveforms(stereo)
    assert img.shape == (1, 2 * TILE_H, TILE_W, 3)
    loud, quiet = ((lane == INK).all(-1) for lane in (img[0, :TILE_H], img[0, TILE_H:]))
    spans = [np.flatnonzero(lane.any(1)) for lane in (loud, quiet)]
    assert spans[0][0] <= 4 and spans[0][-1] >= TILE_H - 5  # full scale fills the lane
    assert np.ptp(spans[1]) < np.ptp(spans[0]) / 3  # a quarter of the amplitude, of the height


def test_the_onnx_export_samples_what_pytorch_samples(tones, tmp_path):
    pytest.importorskip("genforge_onnx", reason="genforge-onnx is not installed")
    import genforge_runtime

    run = tmp_path / "cfm"
    genforge.train({"model": {"name": "cfm", "widths": [8], "groups": 4, "embed_dim": 16},
                    "data": {"name": "wav-folder", "path": str(tones)}, "out": str(run),
                    "trainer": {"steps": 2, "batch_size": 16, "progress": False, "sample_every": 0}})
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "cfm.onnx")]) == 0
    exported = genforge_runtime.load(tmp_path / "cfm.onnx", device="cpu")
    assert exported.info["output_range"] == [-1.0, 1.0]  # clipped to the signals' range, as in PyTorch
    want = genforge.load(run, device="cpu").sample(6, labels=[0, 1, 2] * 2, seed=3).numpy()
    got = exported.sample(6, labels=[0, 1, 2] * 2, seed=3)
    assert got.shape == (6, 1, LENGTH) and np.abs(want).max() == 1.0  # an untrained model overshoots
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
