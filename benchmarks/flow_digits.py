"""Held-out NLL of the ``flow`` family on 8x8 digits (dequantized, 17 pixel levels).

Trains through ``genforge.train`` and scores with the core's ``nll`` metric, exactly as
``genforge train`` + ``genforge eval --metrics nll`` would, then prints nats per image
and bits per dimension next to a reference: independent per-pixel categoricals fitted
to the training split (what a model that ignores all pixel correlations achieves).

    python benchmarks/flow_digits.py [--steps 4000] [--k 100] [--seeds 3] [--out runs/flow-digits]
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from pathlib import Path

import genforge
from genforge.build import load_data
from genforge.evaluate import evaluate
from genforge.plugins import default_plugins
from genforge_flow.baseline import independent_pixels_nll

LEVELS = 17  # scikit-learn's digits hold pixel values k/16, k = 0..16


def main() -> None:
    """Train, evaluate and print the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--k", type=int, default=100, help="dequantization draws per test image")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", default="runs/flow-digits")
    args = p.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    config = {"model": {"name": "flow", "levels": LEVELS}, "data": {"name": "digits", "size": 8},
              "out": str(out), "trainer": {"steps": args.steps, "progress": False, "device": "cpu"}}
    start = time.perf_counter()
    run = genforge.train(config)
    seconds = time.perf_counter() - start
    loaded = genforge.load(run.out, device="cpu")
    results = evaluate(loaded, ["nll"], seeds=args.seeds, options={"k": args.k})
    data = load_data(loaded.config, default_plugins())
    dims = math.prod(data.info.shape)
    baseline = independent_pixels_nll(data.train.x, data.test.x, LEVELS)
    print(f"flow on digits 8x8 ({LEVELS} levels, {data.info.num_test} held-out images, "
          f"{args.steps} steps in {seconds:.0f} s, {loaded.model.describe()['parameters']} parameters)")
    for key, label in (("nll_exact", f"flow, dequantized (mean of k={args.k} draws)"),
                       ("nll_iw", f"flow, importance-weighted (k={args.k})")):
        mean, std = results[key]["mean"], results[key]["std"]
        print(f"  {label:44s} {mean:8.2f} ± {std:.2f} nats/image = {mean / dims / math.log(2):.3f} bits/dim")
    print(f"  {'independent per-pixel categoricals':44s} {baseline:8.2f}        nats/image = "
          f"{baseline / dims / math.log(2):.3f} bits/dim")
    print(f"  {'uniform over the levels':44s} {dims * math.log(LEVELS):8.2f}        nats/image = "
          f"{math.log2(LEVELS):.3f} bits/dim")


if __name__ == "__main__":
    main()
