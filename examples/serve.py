"""Serve a genforge ONNX export over HTTP with the standard library: ``GET /sample`` returns a PNG grid.

    python examples/serve.py dist/cgan.onnx --port 8000
    curl -o sevens.png 'http://127.0.0.1:8000/sample?n=8&labels=7&seed=3'

Query: ``n`` samples (1 to 256, default 1), ``labels`` (conditional models: ``3`` for all,
or one per sample: ``0,1,2``), ``seed`` (the same seed gives the same bytes; none: fresh
samples). One ``Sampler`` serves every request thread. Needs only
``genforge-runtime[cpu,png]`` (or ``[gpu,png]``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import genforge_runtime

MAX_N = 256


def number(text: str, name: str) -> int:
    """``text`` as an integer; a ``ValueError`` naming the parameter."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r}: expected an integer") from None


def parse_query(query: str) -> tuple[int, int | list[int] | None, int | None]:
    """``n``, ``labels`` and ``seed`` of a query string; a ``ValueError`` naming a bad parameter."""
    params = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    unknown = sorted(set(params) - {"n", "labels", "seed"})
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown parameter; expected n, labels, seed")
    n = number(params.get("n", "1"), "n")
    if not 1 <= n <= MAX_N:
        raise ValueError(f"n {n}: expected 1 to {MAX_N}")
    seed = number(params["seed"], "seed") if "seed" in params else None
    labels = [number(t, "labels") for t in params["labels"].split(",")] if "labels" in params else None
    return n, labels[0] if labels is not None and len(labels) == 1 else labels, seed


def make_server(sampler: genforge_runtime.Sampler, host: str = "127.0.0.1",
                port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server answering ``GET /sample?...`` from ``sampler`` (``port=0``: a free port)."""
    layout = str(sampler.info["output_layout"])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: every reply says its length
        disable_nagle_algorithm = True  # else the body waits ~40 ms for the client's ACK of the headers

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            url = urlsplit(self.path)
            if url.path != "/sample":
                self.reply(404, b"not found: GET /sample?n=8&labels=3&seed=0\n", "text/plain")
                return
            try:
                n, labels, seed = parse_query(url.query)
                body = genforge_runtime.png_bytes(sampler.sample(n, labels=labels, seed=seed), layout)
            except ValueError as e:  # a bad parameter, or labels the model does not have: one line
                self.reply(400, f"{e}\n".encode(), "text/plain; charset=utf-8")
                return
            self.reply(200, body, "image/png")

        def reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the model and serve until interrupted; a model or port it cannot use is one line, exit 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a .onnx file written by `genforge export`")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: a free port (printed)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, help="onnxruntime CPU threads (default: one per core)")
    args = parser.parse_args(argv)
    try:
        sampler = genforge_runtime.load(args.model, device=args.device, threads=args.threads)
        server = make_server(sampler, args.host, args.port)
    except (OSError, OverflowError, ValueError, RuntimeError) as e:  # no such file, not a model, port taken
        print(f"serve.py: error: {e}", file=sys.stderr)
        return 2
    with server:
        print(f"serving {args.model} ({sampler.provider}) on "
              f"http://{args.host}:{server.server_port}/sample", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
