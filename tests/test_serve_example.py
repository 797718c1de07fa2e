"""examples/serve.py, the HTTP server of docs/deploy.md: run as documented, queried by 8 threads."""

from __future__ import annotations

import http.client
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import genforge_runtime

SERVE = Path(__file__).resolve().parents[1] / "examples" / "serve.py"
_spec = importlib.util.spec_from_file_location("serve_example", SERVE)
assert _spec is not None and _spec.loader is not None
serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve)


@pytest.fixture(scope="module")
def server(tiny_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """``python examples/serve.py tiny.onnx --port 0`` running: its port and its log file."""
    log = tmp_path_factory.mktemp("serve") / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, str(SERVE), str(tiny_onnx), "--port", "0",
                                 "--device", "cpu"], stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith(f"serving {tiny_onnx} (CPUExecutionProvider) on http://127.0.0.1:"), line
        yield int(line.rsplit(":", 1)[1].split("/")[0]), log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def get(port: int, path: str) -> tuple[int, str, bytes]:
    """Status, content type and body of ``GET path``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.getheader("Content-Type", ""), reply.read()
    finally:
        conn.close()


def test_200_requests_from_8_threads_get_the_png_of_their_seed(server, tiny_onnx):
    port, log = server
    queries = [f"/sample?n={1 + i % 10 % 4}&labels={i % 10}&seed={i % 10}" for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda q: get(port, q), queries))
    assert [(status, kind) for status, kind, _ in replies] == [(200, "image/png")] * 200
    bodies: dict[str, set[bytes]] = {}
    for query, (_, _, body) in zip(queries, replies, strict=True):
        bodies.setdefault(query, set()).add(body)
    assert all(len(same) == 1 for same in bodies.values())  # identical seeds, identical bytes
    assert len({next(iter(same)) for same in bodies.values()}) == 10  # and 10 seeds, 10 pictures
    sampler = genforge_runtime.load(tiny_onnx, device="cpu")
    for query, same in bodies.items():
        n, labels, seed = serve.parse_query(query.split("?")[1])
        assert same == {genforge_runtime.png_bytes(sampler.sample(n, labels=labels, seed=seed), "NCHW")}
    unseeded = {get(port, "/sample?n=4")[2] for _ in range(3)}
    assert len(unseeded) == 3  # no seed: fresh samples each time
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/sample?n=0", 400, "n 0: expected 1 to 256"),
    ("/sample?n=257", 400, "n 257: expected 1 to 256"),
    ("/sample?n=x", 400, "n 'x': expected an integer"),
    ("/sample?labels=1,y", 400, "labels 'y': expected an integer"),
    ("/sample?seed=-1", 400, "seed: expected an integer from 0 to 2**64-1 or None, got -1"),
    ("/sample?n=2&labels=12", 400, "labels: expected class indices in [0, 9], got [12]"),
    ("/sample?steps=3", 400, "steps: unknown parameter; expected n, labels, seed"),
    ("/grid", 404, "not found: GET /sample?n=8&labels=3&seed=0"),
])
def test_bad_requests_get_one_line(server, path, status, message):
    got, kind, body = get(server[0], path)
    assert (got, kind.split(";")[0]) == (status, "text/plain")
    assert body.decode() == message + "\n"


def test_a_model_or_port_it_cannot_use_is_one_line_and_exit_2(tmp_path, tiny_onnx, capsys):
    assert serve.main([str(tmp_path / "missing.onnx")]) == 2
    assert capsys.readouterr().err == f"serve.py: error: {tmp_path / 'missing.onnx'}: no such file\n"
    assert serve.main([str(tiny_onnx), "--device", "cpu", "--port", "70000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("serve.py: error: ") and err.count("\n") == 1 and "65535" in err
