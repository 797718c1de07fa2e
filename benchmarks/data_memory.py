"""Memory of the ``mnist`` and ``cifar10`` sources: images kept as uint8 against float32.

Writes full-size files of random pixels into a temporary folder (nothing is downloaded):
MNIST's IDX files (60,000 + 10,000 images of 28x28) and CIFAR-10's binary version
(50,000 + 10,000 records of 3x32x32). Each source is then loaded in a fresh process, which
reports the bytes its splits hold and its peak resident memory over what it held after its
imports; ``float32`` repeats the load and converts the splits to float32 ``TensorData``
(what a source holding floats keeps). Run: ``python benchmarks/data_memory.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MIB = 2**20


def write_mnist(folder: Path, rng: np.random.Generator) -> None:
    """MNIST-sized IDX files (plain) of random pixels and labels."""
    for split, n in (("train", 60000), ("t10k", 10000)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{split}-images-idx3-ubyte").write_bytes(
            bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28) + images.tobytes())
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + struct.pack(">I", n) + labels.tobytes())


def write_cifar10(folder: Path, rng: np.random.Generator) -> None:
    """CIFAR-10-sized binary batches of random records."""
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = rng.integers(0, 256, (10000, 3073), dtype=np.uint8)
        records[:, 0] %= 10
        (folder / name).write_bytes(records.tobytes())


def child(source: str, folder: str, as_floats: bool) -> None:
    """Load ``source`` and print what its splits hold and the peak memory it took, as JSON."""
    import torch  # noqa: F401 - imported before the baseline, as the trainer has it

    from genforge.build import load_data  # noqa: F401
    from genforge.data import cifar, idx
    from genforge.data.base import TensorData

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if source == "mnist":
        data = idx.load(idx.MnistConfig(path=folder))
    else:
        data = cifar.load_cifar10(cifar.Cifar10Config(path=folder))
    splits = [data.train, data.test]
    if as_floats:
        splits = [TensorData(s.x, s.y) for s in splits]  # type: ignore[union-attr]
        data.train, data.test = splits
    held = sum(s.stored.nbytes for s in splits)  # type: ignore[union-attr]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
    print(json.dumps({"held_mib": held / MIB, "peak_mib": peak / 1024,
                      "images": sum(len(s) for s in splits)}))  # type: ignore[arg-type]


def main() -> None:
    """Write the files, load each source twice in fresh processes, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("SOURCE", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--float32", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.float32)
        return
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folders = {"mnist": Path(tmp, "mnist"), "cifar10": Path(tmp, "cifar10")}
        for source, folder in folders.items():
            folder.mkdir()
            (write_mnist if source == "mnist" else write_cifar10)(folder, rng)
        print("| source | images | held as | splits hold | peak resident memory of the load |")
        print("|---|---|---|---|---|")
        for source, folder in folders.items():
            for as_floats in (False, True):
                cmd = [sys.executable, __file__, "--child", source, str(folder)]
                out = subprocess.run(cmd + (["--float32"] if as_floats else []), check=True,
                                     capture_output=True, text=True).stdout
                r = json.loads(out)
                print(f"| `{source}` | {r['images']:,} | {'float32' if as_floats else 'uint8'} | "
                      f"{r['held_mib']:.0f} MiB | {r['peak_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
