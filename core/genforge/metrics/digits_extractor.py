"""The shipped digits feature extractor and the script that reproduces it.

    python -m genforge.metrics.digits_extractor [--out PATH]

trains the ``ConvNet`` on the digits train split at the native 8x8 (the default
``digits`` split: 1,257 images; 540 held out), exactly as
``genforge features train --data digits`` does, with ``extractor_training.RECIPE``
and writes ``genforge/metrics/weights/digits.safetensors``. On CPU the result is
bit-for-bit the same on every run with the same torch version (one thread, fixed seed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from genforge.metrics.extractor import DIGITS_WEIGHTS, FeatureExtractor, save_extractor
from genforge.metrics.extractor_training import train_for_data


def train_digits_extractor(log: bool = False) -> FeatureExtractor:
    """Train the digits extractor with the shipped recipe (about 10 s on one CPU core)."""
    extractor = train_for_data("digits", log=print if log else None)
    extractor.meta["name"] = "digits-convnet (built in)"
    return extractor


def main(argv: list[str] | None = None) -> Path:
    """Retrain the digits extractor and write it (default: the file shipped in the package)."""
    parser = argparse.ArgumentParser(description="Retrain the shipped digits feature extractor.")
    parser.add_argument("--out", type=Path, default=DIGITS_WEIGHTS, help="output .safetensors file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    extractor = train_digits_extractor(log=True)
    path = save_extractor(extractor, args.out)
    print(f"trained in {time.perf_counter() - start:.1f} s; held-out accuracy "
          f"{extractor.meta['test_accuracy']:.4f}; wrote {path}")
    return path


if __name__ == "__main__":
    main()
