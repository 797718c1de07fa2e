"""Property-based fuzzing of what a user or a file hands genforge (hypothesis).

For ``--set`` values, TOML documents, the arguments of ``sample``/``export``/``eval``/
``genforge-run``, and mutations of ``config.json``, ``training_state.json``, the
safetensors header and the ONNX manifest: no traceback, exit status 0 or 2 (3: a
resumed run diverged), one line on an error, and no file changed outside the run folder
and the output folder. The commands run in this process, on copies of one tiny run.
"""

from __future__ import annotations

import copy
import json
import struct
import tempfile
from pathlib import Path
from types import SimpleNamespace

import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genforge.cli import main
from genforge.config import TrainerConfig, build_raw, resolve
from genforge.errors import GenforgeError
from genforge.plugins import default_plugins
from genforge_runtime.cli import main as run_main

CKPT = "checkpoints/step-000002"
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FEW = settings(FUZZ, max_examples=8)

texts = st.text(max_size=12)
numbers = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) |
                           st.dictionaries(texts, inner, max_size=3), max_leaves=6)
toml_scalars = st.one_of(st.booleans(), numbers, texts, st.lists(st.integers(-9, 9), max_size=3))
number_text = st.one_of(st.integers(-3, 300).map(str), st.integers(-2**70, 2**70).map(str),
                        st.sampled_from(["1e3", "0x10", "nan", "", "3.5", "1_000"]), texts)
KEYS = ["seed", "out", "model.lr", "model.latent_dim", "model.ngf", "model.beta1", "data.size",
        "data.split_seed", "data.test_fraction", "trainer.steps", "trainer.batch_size",
        "trainer.ema_decay", "trainer.device", "trainer.precision", "trainer.eval_metrics",
        "trainer.progress", "trainer.keep_checkpoints", "model", "trainer", "data.name", "model.name"]


@pytest.fixture(scope="module")
def plugins():
    return default_plugins()


@pytest.fixture
def sandbox(tiny_run, tiny_onnx, tmp_path, monkeypatch):
    """``new()`` -> (run copy, output folder) in a fresh folder; checks nothing else changed."""
    import shutil

    import genforge_runtime.sizes

    monkeypatch.setattr(genforge_runtime.sizes, "memory_limit", lambda: 64 * 2**20)  # a huge -n fails fast
    monkeypatch.chdir(tmp_path)
    watched = [tiny_run, tiny_onnx.parent]
    before = [_tree(p) for p in watched]
    made: list[Path] = []

    def new() -> tuple[Path, Path]:
        work = Path(tempfile.mkdtemp(dir=tmp_path))
        run = shutil.copytree(tiny_run, work / "run")
        (work / "out").mkdir()
        made.append(work)
        return run, work / "out"

    yield new
    assert [_tree(p) for p in watched] == before, "a file outside the sandbox changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in made)
    for work in made:
        assert sorted(p.name for p in work.iterdir()) == ["out", "run"]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def check(entry, argv, capsys, codes=(0, 2)) -> int:
    """Run a CLI in this process; require an allowed exit status and, on an error, one line."""
    try:
        code = entry([str(a) for a in argv])
    except SystemExit as e:  # argparse: its usage line and one error line
        code = e.code
        assert code in (0, 2), code
        capsys.readouterr()
        return code
    err = capsys.readouterr().err
    assert code in codes, (argv, code, err)
    if code:
        assert err.count("\n") == 1 and err.startswith(("genforge: error: ", "genforge-run: error: ")), err
        assert len(err) < 1000, err  # a value of thousands of characters is shortened
    return code


def _config_ok_or_one_line(raw, plugins) -> None:
    try:
        resolve(raw, plugins)
    except GenforgeError as e:
        assert "\n" not in str(e) or "\\n" in repr(str(e))


@FUZZ
@given(overrides=st.lists(st.tuples(st.sampled_from(KEYS) | texts, number_text | texts), max_size=3))
def test_set_values(overrides, plugins):
    try:
        raw = build_raw(model="gan", overrides=[f"{k}={v}" for k, v in overrides])
    except GenforgeError:
        return
    _config_ok_or_one_line(raw, plugins)


def _real_keys() -> list[str]:
    """A sample of real config keys: seed, out, and every option of the trainer, gan and digits."""
    plugins = default_plugins()
    sections = {"trainer": TrainerConfig, "model": plugins.get("models", "gan").config_cls,
                "data": plugins.get("data_sources", "digits").config_cls}
    return ["seed", "out", *(f"{name}.{key}" for name, cls in sections.items() for key in cls.model_fields)]


def _nested(depth: int, kind: str) -> str:
    return "[" * depth + "1" + "]" * depth if kind == "list" else "{a=" * depth + "1" + "}" * depth


signs = st.sampled_from(["", "-", "+"])
lengths = st.sampled_from([1, 19, 20, 300, 4300, 4301, 5000, 20_000]) | st.integers(0, 50)  # extremes drawn
extreme_values = st.one_of(
    st.tuples(signs, lengths.filter(bool)).map(lambda t: t[0] + "9" * t[1]),  # past Python's 4300 digits too
    st.tuples(signs, st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64, 2**200])).map(
        lambda t: f"{t[0]}{t[1]}"),
    st.sampled_from(["nan", "+nan", "-nan", "inf", "-inf", "1e308", "-1e308", "1e400", "-1e400", "5e-324",
                     "1e-400", "-0.0", "0", "0x7fffffffffffffff", "0b1", "1_000"]),
    st.floats().map(lambda f: {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(f), repr(f))),
    st.tuples(st.sampled_from(["x", "é", "\u202e", "🙂", "\u0301"]), lengths).map(
        lambda t: t[0] * t[1]),  # long plain and odd unicode strings
    lengths.map(lambda n: json.dumps("é" * n)),  # long quoted strings
    st.tuples(lengths.filter(lambda n: n <= 5000), st.sampled_from(["list", "table"])).map(
        lambda t: _nested(*t)),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),  # any unicode, control characters too
)


@settings(FUZZ, max_examples=50)
@given(assignments=st.lists(st.tuples(st.sampled_from(_real_keys()), extreme_values), min_size=1, max_size=3))
def test_extreme_set_values_exit_0_or_2_with_one_short_line(assignments, tmp_path, monkeypatch, capsys):
    """``genforge train`` with extreme values, by ``--set`` and in a TOML file: validated, nothing trains."""
    import genforge.api

    ran = []
    monkeypatch.setattr(genforge.api, "_train", lambda resolved, **kw: ran.append(resolved) or
                        SimpleNamespace(process=SimpleNamespace(main=False, distributed=False)))
    argv = ["train", "--model", "gan", "--out", tmp_path / "run",
            *[a for key, value in assignments for a in ("--set", f"{key}={value}")]]
    code = check(main, argv, capsys)
    assert (code == 0) == bool(ran)
    # the same values in a TOML file (a value that is not TOML makes the file invalid)
    tables: dict[str, list[str]] = {}
    for key, value in assignments:
        section, _, name = key.rpartition(".")
        tables.setdefault(section, []).append(f"{name} = {value}")
    config = Path(tempfile.mkdtemp(dir=tmp_path)) / "run.toml"
    config.write_text("\n".join(tables.pop("", [])) + "".join(
        f"\n[{section}]\n" + "\n".join(lines) for section, lines in tables.items()) + "\n")
    ran.clear()
    code = check(main, ["train", config, "--model", "gan", "--out", tmp_path / "run"], capsys)
    assert (code == 0) == bool(ran)


def _toml(doc: dict) -> str:
    top = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    sections = [f"[{json.dumps(k)}]\n" + "\n".join(f"{json.dumps(a)} = {_toml_value(b)}"
                                                   for a, b in v.items())
                for k, v in doc.items() if isinstance(v, dict)]
    return "\n".join(top + sections) + "\n"


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(v), repr(v))
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)


sections = st.dictionaries(st.sampled_from(["name", "lr", "latent_dim", "steps", "size", "device", "seed",
                                            "batch_size", "split_seed", "ema_decay"]) | texts,
                           toml_scalars | st.sampled_from(["gan", "vae", "digits", "toy2d"]), max_size=4)
documents = st.dictionaries(st.sampled_from(["seed", "out", "model", "data", "trainer"]) | texts,
                            toml_scalars | sections, max_size=4)


@FUZZ
@given(doc=documents, garbage=st.binary(max_size=40))
def test_toml_documents(doc, garbage, plugins, tmp_path):
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "run.toml"
    for content in (_toml(doc).encode(), garbage):
        path.write_bytes(content)
        try:
            raw = build_raw(path)
        except GenforgeError:
            continue
        _config_ok_or_one_line(raw, plugins)


sample_args = st.lists(st.one_of(
    st.tuples(st.sampled_from(["-n", "--seed"]), number_text),
    st.tuples(st.just("--labels"), st.sampled_from(["all", "3", "0,1", "10", "-1", "a", ""]) | texts),
    st.tuples(st.just("--device"), st.sampled_from(["cpu", "auto", "cuda", "cuda:1", "foo"]) | texts),
    st.tuples(st.sampled_from(["--no-ema", "--class-sweep", "--reconstruct"])),
), max_size=4)


@FUZZ
@given(args=sample_args, suffix=st.sampled_from([".npy", ".png", ".jpg", ""]))
def test_sample_arguments(args, suffix, sandbox, capsys):
    run, out = sandbox()
    check(main, ["sample", run, *[a for pair in args for a in pair], "--out", out / f"s{suffix}"], capsys)


export_args = st.lists(st.one_of(
    st.tuples(st.just("--opset"), number_text),
    st.tuples(st.just("--output"), st.sampled_from(["float", "uint8", "x"])),
    st.tuples(st.just("--part"), st.sampled_from(["generator", "decoder", "encoder"]) | texts),
    st.tuples(st.just("--format"), st.sampled_from(["onnx", "triton"]) | texts),
    st.tuples(st.just("--option"), st.tuples(st.sampled_from(["name", "fp16", "opset", "max_batch_size",
                                                               "verbose", "output"]) | texts,
                                             number_text | st.sampled_from(["true", "maybe", "../x", "a/b"]))
              .map(lambda kv: f"{kv[0]}={kv[1]}")),
    st.tuples(st.sampled_from(["--fp16", "--no-ema"])),
), max_size=3)


@FEW
@given(args=export_args)
def test_export_arguments(args, sandbox, capsys):
    run, out = sandbox()
    check(main, ["export", run, "--out", out, *[a for pair in args for a in pair]], capsys)


eval_args = st.lists(st.one_of(
    st.tuples(st.just("--n"), st.sampled_from(["0", "-1", "20", "x", str(2**70)])),
    st.tuples(st.sampled_from(["--seeds", "--k"]), st.sampled_from(["0", "1", "x", "-2"])),
    st.tuples(st.just("--metrics"), st.sampled_from(["classes", "nll", "fid", "", ",", "kid,x"]) | texts),
    st.tuples(st.just("--extractor"), texts),
    st.tuples(st.just("--json"), st.sampled_from(["r.json", "no/r.json"])),
), max_size=3)


@FEW
@given(args=eval_args)
def test_eval_arguments(args, sandbox, capsys):
    run, out = sandbox()
    flat = [str(out / a) if a.endswith(".json") else a for pair in args for a in pair]
    base = ["eval", run, "--n", "20", "--seeds", "1", "--no-floor", "--metrics", "classes"]
    check(main, [*base, *flat], capsys)


runtime_args = st.lists(st.one_of(
    st.tuples(st.sampled_from(["-n", "--seed", "--batch-size", "--threads"]), number_text),
    st.tuples(st.just("--labels"), st.sampled_from(["all", "3", "0,1", "10", "x"]) | texts),
    st.tuples(st.just("--device"), st.sampled_from(["cpu", "auto", "cuda", "cuda:x"]) | texts),
), max_size=4)


@FUZZ
@given(args=runtime_args, suffix=st.sampled_from([".npy", ".png", ".txt"]))
def test_genforge_run_arguments(args, suffix, tiny_onnx, sandbox, capsys):
    run, out = sandbox()
    flat = [a for pair in args for a in pair]
    if "-n" not in flat:
        flat = ["-n", "4", *flat]
    check(run_main, [tiny_onnx, *flat, "--out", out / f"s{suffix}"], capsys)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def mutate(data, draw):
    """A copy of JSON ``data`` with one value replaced by random JSON, or one entry removed."""
    path = draw(st.sampled_from(list(_paths(data))))
    new = draw(json_values)
    if not path:
        return new
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    if draw(st.booleans()) and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return out


def mutate_file(path, draw):
    path.write_text(json.dumps(mutate(json.loads(path.read_text()), draw)))


@FUZZ
@given(data=st.data())
def test_config_json_mutations(data, sandbox, capsys):
    run, out = sandbox()
    mutate_file(run / CKPT / "config.json", data.draw)
    check(main, ["sample", run, "-n", "2", "--out", out / "s.npy"], capsys)


@FEW
@given(data=st.data())
def test_training_state_mutations(data, sandbox, capsys):
    run, out = sandbox()
    mutate_file(run / CKPT / "training_state.json", data.draw)
    check(main, ["train", "--out", run, "--resume", "--steps", "3"], capsys, codes=(0, 2, 3))


@FUZZ
@given(data=st.data())
def test_safetensors_header_mutations(data, sandbox, capsys):
    run, out = sandbox()
    path = run / CKPT / "model.safetensors"
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header, body = json.loads(raw[8:8 + size]), raw[8 + size:]
    if data.draw(st.booleans()):
        text = json.dumps(mutate(header, data.draw)).encode()
        path.write_bytes(struct.pack("<Q", len(text)) + text + body)
    else:  # flip bytes anywhere in the length or the header
        blob = bytearray(raw)
        for i in data.draw(st.lists(st.integers(0, 8 + size - 1), min_size=1, max_size=4)):
            blob[i] = data.draw(st.integers(0, 255))
        path.write_bytes(bytes(blob))
    check(main, ["sample", run, "-n", "2", "--out", out / "s.npy"], capsys)


MANIFEST_KEYS = ["genforge.model", "latent_dim", "num_classes", "sample_shape", "output_dtype",
                 "output_layout", "output_range", "class_names", "conditional", "opset", "part", "tolerance"]


@FUZZ
@given(edits=st.dictionaries(st.sampled_from(MANIFEST_KEYS), number_text | texts |
                             json_values.map(json.dumps), min_size=1, max_size=3))
def test_onnx_manifest_mutations(edits, tiny_onnx, sandbox, capsys):
    run, out = sandbox()
    model = onnx.load(str(tiny_onnx))
    props = {p.key: p for p in model.metadata_props}
    for key, value in edits.items():
        props[key].value = value
    path = out / "m.onnx"
    onnx.save(model, str(path))
    check(run_main, [path, "-n", "3", "--out", out / "s.npy"], capsys)
