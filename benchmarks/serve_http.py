"""The HTTP server of docs/deploy.md (examples/serve.py): requests/s and latency under concurrent clients.

Exports the demo's model (``cgan`` with its default config on 16x16 digits, as ``make
demo`` trains it, here for one step: the speed does not depend on the weights) unless
``--onnx FILE`` names an export, then starts each server of ``--servers`` in its own
process on a free port, all of them ``examples/serve.py``'s ``make_server``:

  shared      one ``Sampler`` called by every request thread at once (the example)
  serialized  the same ``Sampler`` behind a lock: one request samples at a time
  nagle       shared, with the handler's Nagle algorithm turned back on (the body then
              waits for the client's delayed ACK of the headers)

and sends ``GET /sample?n=N&labels=3&seed=i`` (a new seed each request) from client
threads (in this process), each on its own kept-alive connection, alternating the servers
round by round (on a shared machine a busy neighbour slows everything for seconds). It
prints, per server and number of clients, requests/s (the median of the rounds', and
their range) and the latency of one request (client-side, p50 and p95 over all rounds).

    python benchmarks/serve_http.py                  # shared, serialized; 1 and 8 clients; 21 rounds
    python benchmarks/serve_http.py --servers shared nagle --clients 1 --rounds 3
    python benchmarks/serve_http.py --onnx runs/demo/cgan.onnx --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "examples" / "serve.py"
#: runs in the server process: examples/serve.py's make_server around one sampler
SERVER = """
import runpy, sys, threading
import genforge_runtime
serve = runpy.run_path(sys.argv[1])
threads = int(sys.argv[3]) if sys.argv[3] != "default" else None
sampler = genforge_runtime.load(sys.argv[2], device="cpu", threads=threads)
if sys.argv[4] == "serialized":
    lock, shared = threading.Lock(), sampler

    class Serialized:
        info = shared.info

        def sample(self, *args, **kwargs):
            with lock:
                return shared.sample(*args, **kwargs)

    sampler = Serialized()
server = serve["make_server"](sampler, "127.0.0.1", 0)
if sys.argv[4] == "nagle":
    server.RequestHandlerClass.disable_nagle_algorithm = False
print(server.server_port, flush=True)
server.serve_forever()
"""
MODES = ("shared", "serialized", "nagle")


def export_demo_model(out: Path) -> Path:
    """The demo's ``cgan`` (default config) after one training step, exported to ONNX."""
    import genforge
    from genforge_onnx.onnx_exporter import exporter

    with contextlib.redirect_stdout(io.StringIO()):
        genforge.train({"model": {"name": "cgan"}, "out": str(out / "run"),
                        "trainer": {"steps": 1, "progress": False, "sample_every": 0, "checkpoint_every": 0}})
        return exporter.export(genforge.load(out / "run", device="cpu"), out / "cgan.onnx", {})


def start(model: Path, mode: str, threads: int | None) -> tuple[subprocess.Popen[str], int]:
    """A server process of ``mode`` and its port."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(SERVE), str(model),
                             str(threads or "default"), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def round_of(port: int, clients: int, requests: int, n: int, first_seed: int) -> tuple[float, list[float]]:
    """``requests`` GETs from ``clients`` threads: the wall time and each request's latency."""
    def client(k: int) -> list[float]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        times = []
        for i in range(k, requests, clients):
            start = time.perf_counter()
            conn.request("GET", f"/sample?n={n}&labels=3&seed={first_seed + i}")
            reply = conn.getresponse()
            body = reply.read()
            times.append(time.perf_counter() - start)
            if reply.status != 200 or not body.startswith(b"\x89PNG"):
                raise RuntimeError(f"request {i}: status {reply.status}: {body[:200]!r}")
        conn.close()
        return times

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(client, range(clients)) for t in part]
    return time.perf_counter() - start, latencies


def main() -> None:
    """Export (unless given a file), start both servers, time the rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, help="an export (default: the demo's cgan, exported here)")
    parser.add_argument("--servers", nargs="+", choices=MODES, default=["shared", "serialized"])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="client threads")
    parser.add_argument("--requests", type=int, default=100, help="requests per round")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("-n", type=int, default=8, help="samples per request")
    parser.add_argument("--threads", type=int, help="onnxruntime CPU threads of each server "
                        "(default: one per core)")
    args = parser.parse_args()
    import onnxruntime

    print(f"{os.cpu_count()} CPUs; onnxruntime {onnxruntime.__version__}; load average before: "
          f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        model = args.onnx or export_demo_model(Path(tmp))
        servers = {mode: start(model, mode, args.threads) for mode in args.servers}
        try:
            rates: dict[tuple[str, int], list[float]] = {}
            latencies: dict[tuple[str, int], list[float]] = {}
            for _, port in servers.values():  # warm-up: first onnxruntime runs, worker threads
                round_of(port, max(args.clients), 2 * max(args.clients), args.n, 10**6)
            for r in range(args.rounds):
                for clients in args.clients:
                    for mode, (_, port) in servers.items():
                        wall, times = round_of(port, clients, args.requests, args.n, r * args.requests)
                        rates.setdefault((mode, clients), []).append(args.requests / wall)
                        latencies.setdefault((mode, clients), []).extend(times)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait()
    name = args.onnx.name if args.onnx else "the demo's cgan (16x16, default config)"
    print(f"\n{name}, {args.n} samples per request, onnxruntime threads "
          f"{args.threads or 'default (one per core)'}; {args.rounds} rounds of {args.requests} requests "
          "per row, the servers alternating")
    print("| server | clients | requests/s (median of rounds) | rounds' requests/s, min to max | samples/s "
          "| latency p50 | latency p95 |")
    print("|---|---|---|---|---|---|---|")
    for clients in args.clients:
        for mode in args.servers:
            rps = rates[mode, clients]
            mid = statistics.median(rps)
            p50, p95 = np.percentile(latencies[mode, clients], [50, 95]) * 1e3
            print(f"| {mode} | {clients} | {mid:,.0f} | {min(rps):,.0f} to {max(rps):,.0f} "
                  f"| {mid * args.n:,.0f} | {p50:.2f} ms | {p95:.2f} ms |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
