"""The noise contract (docs/noise.md): numpy and JavaScript against the page's reference code, its test
vectors and Random123's known answers; the properties a request's streams promise."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from forked import in_forked_child
from runtime_testkit import LATENT, make_model, manifest

import genforge_runtime
from genforge_runtime import NotAGenforgeModel
from genforge_runtime import noise as nz
from genforge_runtime.cli import main
from genforge_runtime.noise import NoiseStreams

DOC = Path(__file__).resolve().parents[3] / "docs" / "noise.md"
#: (seed, stream, first index, count): block starts and middles, the largest seed and stream
RANGES = [(0, 0, 0, 1000), (3, 1, 5, 999), (2**63 - 1, 7, 2**32 + 2, 501),
          (2**64 - 1, 2**32 - 1, 2**40 + 1, 333), (123456789, 2, 1_000_001, 10_000)]


def section(name: str) -> str:
    """The text between ``<!-- noise-NAME:start -->`` and its end marker."""
    text = DOC.read_text()
    return text.split(f"<!-- noise-{name}:start -->")[1].split(f"<!-- noise-{name}:end -->")[0]


def table(name: str) -> list[list[str]]:
    """The rows of the markdown table of a section (header and rule left out)."""
    lines = [ln for ln in section(name).splitlines() if ln.startswith("|")][2:]
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines]


@pytest.fixture(scope="module")
def ref() -> dict:
    """The reference functions of docs/noise.md, run as written."""
    code = section("reference").split("```python")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def test_the_generator_is_random123s_philox4x32_10(ref):
    rows = table("philox")
    assert len(rows) == 3
    for counter, key, want in rows:
        c, k, w = ([int(x, 16) for x in cell.split()] for cell in (counter, key, want))
        assert ref["philox4x32_10"](c, k) == tuple(w)
        for philox in (nz._philox_lanes, nz._philox_arrays):  # a few blocks, many blocks
            assert philox(np.array(c, dtype=np.uint32)[:, None], k[0] | k[1] << 32)[:, 0].tolist() == w


def test_the_two_ways_of_computing_philox_agree_around_their_threshold():
    counters = np.random.default_rng(0).integers(0, 2**32, (4, 2 * nz.FEW_BLOCKS + 1), dtype=np.uint32)
    for m in (1, 2, nz.FEW_BLOCKS, nz.FEW_BLOCKS + 1, 2 * nz.FEW_BLOCKS + 1):
        np.testing.assert_array_equal(nz._philox_lanes(counters[:, :m], 2**64 - 5),
                                      nz._philox_arrays(counters[:, :m], 2**64 - 5))


def test_numpy_gives_the_pages_test_vectors(ref):
    rows = table("vectors")
    assert len(rows) >= 8
    for seed, stream, index, word, unit, uniform, normal, label, gumbel in rows:
        s, k, i = int(seed), int(stream), int(index)
        w = nz.words(s, k, i, 1)
        assert int(w[0]) == int(word, 16) == ref["word"](s, k, i)
        assert float(nz.unit(w)[0]) == float(unit) == ref["unit"](int(word, 16))
        for draw, name, text in ((nz.uniforms, "uniform", uniform), (nz.normals, "normal", normal),
                                 (nz.gumbel, "gumbel", gumbel)):
            got = draw(s, k, i, 1)
            assert got.dtype == np.float32 and got[0] == np.float32(text) == ref[name](s, k, i)
        assert int(nz.labels(s, k, i, 1, 10)[0]) == int(label) == ref["label"](s, k, i, 10)


def test_numpy_is_the_reference_bit_for_bit(ref):
    for seed, stream, start, count in RANGES:
        count = min(count, 600)  # the reference is plain Python: one block per value
        idx = range(start, start + count)
        assert nz.words(seed, stream, start, count).tolist() == [ref["word"](seed, stream, i) for i in idx]
        for draw, name in ((nz.uniforms, "uniform"), (nz.normals, "normal"), (nz.gumbel, "gumbel")):
            want = np.array([ref[name](seed, stream, i) for i in idx], dtype=np.float32)
            np.testing.assert_array_equal(draw(seed, stream, start, count), want)
        for k in (1, 3, 10, 1000):
            want_labels = [ref["label"](seed, stream, i, k) for i in idx]
            assert nz.labels(seed, stream, start, count, k).tolist() == want_labels


def test_units_exclude_zero_and_one():
    extremes = np.array([0, 1, 2**32 - 2, 2**32 - 1], dtype=np.uint32)
    assert nz.unit(extremes).tolist() == [2.0**-33, 3 * 2.0**-33, 1 - 3 * 2.0**-33, 1 - 2.0**-33]
    assert nz.unit32(extremes).tolist() == [2.0**-24, 2.0**-24, 1 - 2.0**-24, 1 - 2.0**-24]
    assert np.isfinite(nz.gumbel(0, 0, 0, 100_000)).all()


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (node) is not installed")
def test_the_javascript_module_computes_numpys_numbers(tmp_path):
    module = Path(str(files("genforge_runtime") / "noise.mjs"))
    script = tmp_path / "draw.mjs"
    script.write_text(
        f"import * as n from {json.dumps(module.as_uri())};\n"
        f"const ranges = {json.dumps([[str(s), k, i, c] for s, k, i, c in RANGES])};\n"
        "const out = ranges.map(([s, k, i, c]) => Object.fromEntries(\n"
        "  ['words', 'uniforms', 'normals', 'gumbel', 'labels'].map(\n"
        "    (name) => [name, Array.from(n[name](BigInt(s), k, i, c, 10))])));\n"
        "out.push(n.philox([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]));\n"
        "out.push([n.VERSION, n.LABELS_STREAM, n.LATENT_STREAM, n.FIRST_STEP_STREAM]);\n"
        "console.log(JSON.stringify(out));\n")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    *got, kat, constants = json.loads(done.stdout)
    assert kat == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]
    assert constants == [nz.VERSION, nz.LABELS_STREAM, nz.LATENT_STREAM, nz.FIRST_STEP_STREAM]
    for (seed, stream, start, count), js in zip(RANGES, got, strict=True):
        assert js["words"] == nz.words(seed, stream, start, count).tolist()
        for name in ("uniforms", "normals", "gumbel"):  # float32 values, exact in JSON's doubles
            want = getattr(nz, name)(seed, stream, start, count)
            np.testing.assert_array_equal(np.array(js[name], dtype=np.float32), want, err_msg=name)
        assert js["labels"] == nz.labels(seed, stream, start, count, 10).tolist()


def test_a_requests_draws_are_its_streams_in_sample_order():
    s = NoiseStreams(9)
    y, z, e = s.labels(5, 4), s.latents(5, 3), s.step(6, (5, 2, 2))
    assert y.tolist() == nz.labels(9, 0, 0, 5, 4).tolist()
    np.testing.assert_array_equal(z, nz.normals(9, 1, 0, 15).reshape(5, 3))
    np.testing.assert_array_equal(e, nz.normals(9, 2 + 6, 0, 20).reshape(5, 2, 2))
    # batch after batch, each stream goes on where it stopped: the rows of one draw
    whole = NoiseStreams(9)
    parts = NoiseStreams(9)
    for draw in (lambda st, n: st.latents(n, 3), lambda st, n: st.labels(n, 4),
                 lambda st, n: st.step(0, (n, 2, 2))):
        want = draw(whole, 11)
        got = np.concatenate([draw(parts, n) for n in (1, 4, 0, 3, 3)])
        np.testing.assert_array_equal(got, want)


def test_streams_and_seeds_draw_independent_standard_normals():
    draws = [nz.normals(5, 1, 0, 200_000), nz.normals(5, 2, 0, 200_000), nz.normals(6, 1, 0, 200_000)]
    for x in draws:
        assert abs(float(x.mean())) < 0.01 and abs(float(x.std()) - 1) < 0.01
        assert 0.0435 < float(np.mean(np.abs(x) > 2)) < 0.0475  # 4.55% beyond 2 sigma
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert abs(float(np.corrcoef(draws[a], draws[b])[0, 1])) < 0.01
    pairs = draws[0].reshape(-1, 2)  # the cos and sin lanes of one Box-Muller pair are uncorrelated too
    assert abs(float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1])) < 0.01
    counts = np.bincount(nz.labels(5, 0, 0, 100_000, 10), minlength=10)
    assert counts.min() > 9_700 and counts.max() < 10_300


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, True, "3"])
def test_seeds_outside_the_contract_are_refused_in_one_line(toy, bad):
    with pytest.raises(ValueError, match=r"^seed: expected an integer from 0 to 2\*\*64-1") as e:
        NoiseStreams(bad)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="^seed: expected"):
        genforge_runtime.load(toy, device="cpu").sample(2, seed=bad)


def test_unseeded_calls_differ_in_threads_and_in_a_forked_child(toy):
    from concurrent.futures import ThreadPoolExecutor

    s = genforge_runtime.load(toy, device="cpu")
    assert NoiseStreams().seed != NoiseStreams().seed
    with ThreadPoolExecutor(4) as pool:
        drawn = list(pool.map(lambda i: s.sample(1).tobytes(), range(200)))
    child = in_forked_child(lambda: s.sample(3).tobytes())
    assert len({*drawn, child, s.sample(3).tobytes()}) == 202
    assert in_forked_child(lambda: s.sample(3, seed=4).tobytes()) == s.sample(3, seed=4).tobytes()


def test_the_manifest_names_the_noise_contract(tmp_path, capsys):
    current = genforge_runtime.load(make_model(tmp_path / "v2.onnx"), device="cpu")
    v1 = make_model(tmp_path / "v1.onnx", meta=manifest(True, **{"genforge.noise": None}))
    older = genforge_runtime.load(v1, device="cpu")
    assert current.info["genforge.noise"] == 2 and older.info["genforge.noise"] == 1
    z = NoiseStreams(3).latents(4, LATENT)  # a file written before version 2 samples with it
    assert np.array_equal(older.sample(4, labels=1, seed=3), current.sample(4, labels=1, seed=3))
    assert np.array_equal(current.sample(4, labels=1, seed=3), current._run(z, np.full(4, 1)))
    for value in ("3", "two", "", "2.0"):
        path = make_model(tmp_path / "later.onnx", meta=manifest(True, **{"genforge.noise": value}))
        with pytest.raises(NotAGenforgeModel, match=f"later.onnx: manifest genforge.noise {value!r}: "
                           "this genforge-runtime samples noise contract versions 1 and 2"):
            genforge_runtime.load(path, device="cpu")
        assert main([str(path), "-n", "2", "--out", str(tmp_path / "x.npy")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "genforge.noise" in err, err
