"""Training throughput of ``gan`` (DCGAN) under the trainer's speed options.

Measures images/s of ``genforge.train`` for each combination of precision, channels-last
and ``torch.compile``, at the standard DCGAN setting (64x64x3 random images, nz=100,
ngf=ndf=64) and on digits at 32x32x1. Throughput is read from ``metrics.jsonl`` after
warm-up steps, so compilation and start-up are excluded.

On CUDA the default matrix is every combination of precision 32 / bf16 / 16-mixed,
channels-last off/on and compile off/on, at batch 64 and 256. On CPU (no fp16 there)
the default is precision 32 / bf16 x channels-last off/on at batch 64, without compile
(add ``--compile`` to include it). Run: ``python benchmarks/train_throughput.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import types
from pathlib import Path

import torch
from pydantic import BaseModel

import genforge
from genforge import hookimpl
from genforge.plugins import Plugins


class RandomImagesConfig(BaseModel):
    """Options of the benchmark's random image source."""

    size: int = 64
    channels: int = 3
    n: int = 4096


def random_images(config: RandomImagesConfig) -> genforge.Data:
    """Uniform random images: the DCGAN setting's shape without a dataset download."""
    x = torch.rand(config.n, config.channels, config.size, config.size,
                   generator=torch.Generator().manual_seed(0))
    info = genforge.DataInfo(shape=(config.channels, config.size, config.size), kind="image",
                             num_train=config.n, name="random-images")
    return genforge.Data(genforge.TensorData(x), None, info)


@hookimpl
def genforge_register_data_sources(register: object) -> None:
    """Register the random image source for this benchmark."""
    register("random-images", random_images, RandomImagesConfig, "uniform random images")


def measure(plugins: Plugins, data: dict, batch: int, steps: int, warmup: int, device: str,
            precision: str, channels_last: bool, compile_: bool) -> float:
    """Images/s of one configuration, averaged over the steps after ``warmup``."""
    with tempfile.TemporaryDirectory() as out:
        genforge.train({"model": {"name": "gan"}, "data": data, "out": out,
                        "trainer": {"steps": warmup + steps, "batch_size": batch, "device": device,
                                    "precision": precision, "channels_last": channels_last,
                                    "compile": compile_, "log_every": warmup, "sample_every": 0,
                                    "checkpoint_every": 0, "progress": False}}, plugins=plugins)
        lines = [json.loads(x) for x in (Path(out) / "metrics.jsonl").open()]
    first, last = lines[0], lines[-1]  # the first line marks the end of the warm-up
    return (last["step"] - first["step"]) * batch / (last["time_s"] - first["time_s"])


def main() -> None:
    """Print a table of images/s per setting and configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--compile", action="store_true", help="include torch.compile on CPU")
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    precisions = ["32", "bf16", "16-mixed"] if cuda else ["32", "bf16"]
    compiles = [False, True] if (cuda or args.compile) else [False]
    batches = args.batches or ([64, 256] if cuda else [64])
    steps = args.steps or (50 if cuda else 5)
    plugins = Plugins(extra=[types.SimpleNamespace(
        genforge_register_data_sources=genforge_register_data_sources)])
    settings = [("64x64x3 random", {"name": "random-images", "size": 64, "channels": 3}),
                ("32x32x1 digits", {"name": "digits", "size": 32})]
    name = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"gan (DCGAN nz=100 ngf=ndf=64) training images/s on {name}, torch {torch.__version__}, "
          f"{steps} timed steps after {args.warmup} warm-up steps")
    print("| setting | batch | precision | channels_last | compile | images/s | vs fp32 eager |")
    print("|---|---|---|---|---|---|---|")
    for (label, data), batch in itertools.product(settings, batches):
        base = None
        for precision, cl, comp in itertools.product(precisions, [False, True], compiles):
            rate = measure(plugins, data, batch, steps, args.warmup, device, precision, cl, comp)
            base = base or rate
            print(f"| {label} | {batch} | {precision} | {cl} | {comp} | {rate:,.0f} | "
                  f"{rate / base:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
