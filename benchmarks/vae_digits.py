"""Benchmark the VAE family on 8x8 digits with the default configs.

Trains ``vae`` and ``cvae`` through ``genforge.train`` (their suggested defaults: binarised
8x8 digits), then reports on the held-out split the mean -ELBO and IWAE NLL in nats per
example (k importance samples, mean +- std over seeds) and, for ``cvae``, how often an SVC
trained on the real training digits recognises the requested class in its samples.

    python benchmarks/vae_digits.py [--k 500] [--seeds 3] [--out DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

import genforge
from genforge.data.digits import DigitsConfig, load
from genforge.evaluate import evaluate


def train_default(name: str, out: Path, seed: int) -> tuple[Any, float]:
    """Train model ``name`` with its default config; return the run and the wall time."""
    start = time.perf_counter()
    run = genforge.train({"model": {"name": name}, "seed": seed, "out": str(out / name),
                          "trainer": {"progress": False}})
    return run, time.perf_counter() - start


def load_average() -> float:
    """The 1-minute load average (other processes slow the timing down), or -1 if unknown."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def class_accuracy(model: Any, svc: Any, per_class: int, seed: int) -> list[float]:
    """Share of ``per_class`` samples of each class that ``svc`` labels as that class."""
    k = model.data_info.num_classes
    labels = torch.arange(k).repeat_interleave(per_class)
    samples = model.sample(len(labels), labels=labels, generator=torch.Generator().manual_seed(seed))
    predicted = torch.from_numpy(svc.predict(samples.flatten(1).cpu().numpy()))
    return (predicted == labels).double().view(k, per_class).mean(1).tolist()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a report and return it as a dict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=500, help="importance samples (default 500)")
    parser.add_argument("--seeds", type=int, default=3, help="evaluation seeds (default 3)")
    parser.add_argument("--train-seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--per-class", type=int, default=100, help="cvae samples per class")
    parser.add_argument("--out", type=Path, help="run folder (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    from sklearn.svm import SVC

    data = load(DigitsConfig(size=8))
    test_x, test_y = data.test.x, data.test.y
    report: dict[str, Any] = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                              "k": args.k, "seeds": args.seeds, "n_test": len(test_x)}
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        for name in ("vae", "cvae"):
            load_before = load_average()
            run, wall = train_default(name, out, args.train_seed)
            loaded = genforge.load(run.checkpoint, device="cpu")
            model = loaded.model
            trainer = run.config.run.trainer
            start = time.perf_counter()
            table = evaluate(loaded, ["nll"], seeds=args.seeds, options={"k": args.k})
            entry = {"train_wall_s": wall, "load_average": [load_before, load_average()],
                     "eval_wall_s": time.perf_counter() - start,
                     "steps": trainer.steps, "batch_size": trainer.batch_size,
                     **model.describe(), **table}
            report[name] = entry
            print(f"{name}: {model.describe()}, {trainer.steps} steps x batch "
                  f"{trainer.batch_size}, trained in {wall:.1f} s (load average "
                  f"{load_before:.1f} before, {entry['load_average'][1]:.1f} after)")
            seeds = f"{args.seeds} seed{'s' if args.seeds != 1 else ''}"
            for key, label in (("nll_elbo", "-ELBO"), ("nll_iwae", "IWAE NLL")):
                print(f"  test {label:<13} {table[key]['mean']:.3f} +- {table[key]['std']:.4f} "
                      f"nats (k={args.k}, std over {seeds})")
            if name == "cvae":
                svc = SVC().fit(data.train.x.flatten(1).numpy(), data.train.y.numpy())
                real = float((torch.from_numpy(svc.predict(test_x.flatten(1).numpy())) == test_y)
                             .double().mean())
                acc = class_accuracy(model, svc, args.per_class, 0)
                entry.update(svc_test_accuracy=real, class_accuracy=acc)
                print(f"  class accuracy     {sum(acc) / len(acc):.3f} mean, {min(acc):.3f} worst "
                      f"class ({args.per_class} samples per class; SVC on real test digits: "
                      f"{real:.3f})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
