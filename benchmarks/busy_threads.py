"""Training beside other work: ``genforge train`` wall time alone and beside CPU-bound competitors.

Each competitor is a single-threaded busy loop started just before the run and stopped
after it. For each family and number of competitors the same command runs with genforge's
default threads, with ``--threads N`` for each N up to the usable CPUs, and as genforge
trained before it tuned threads (``before``: OpenMP's own spinning waits, one thread per
CPU). The
last column is the default's wall time over the best ``--threads`` setting's. Run on an
otherwise quiet machine:

    python benchmarks/busy_threads.py [--families gan cvae cfm] [--competitors 0 1 2] [--rounds 1]
        [--no-before]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genforge_runtime.cpus import usable_cpus

STEPS = {"gan": 500, "cgan": 500, "vae": 2000, "cvae": 2000, "fm": 300, "cfm": 300, "ddpm": 300,
         "cddpm": 300}
BUSY = "import time\nend = time.monotonic() + 3600\nwhile time.monotonic() < end:\n    pass\n"


def timed_run(model: str, steps: int, setting: str, competitors: int, folder: Path) -> float:
    """Wall seconds of one ``genforge train`` beside ``competitors`` busy loops."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    args = [sys.executable, "-m", "genforge", "train", "--model", model, "--steps", str(steps),
            "--out", str(folder / f"{model}-{setting}-{competitors}-{time.monotonic_ns()}"), "--no-progress"]
    if setting == "before":  # an empty policy is no policy to OpenMP: its own spin-then-sleep waits
        env["OMP_WAIT_POLICY"] = ""
        args += ["--threads", str(usable_cpus())]
    elif setting != "default":
        args += ["--threads", setting]
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(competitors)]
    try:
        time.sleep(0.2)
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start
    finally:
        for p in busy:
            p.kill()
            p.wait()


def main() -> None:
    """Print the wall-time table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=["gan", "cvae", "cfm"])
    ap.add_argument("--competitors", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, default=1, help="runs per cell; the median is shown")
    ap.add_argument("--no-before", action="store_true", help="skip the column of the former defaults")
    args = ap.parse_args()
    cpus = usable_cpus()
    settings = ["default", *map(str, range(1, cpus + 1)), *([] if args.no_before else ["before"])]
    print(f"{cpus} usable CPUs; load average before: {os.getloadavg()[0]:.2f}")
    columns = [f"{s} (s)" if s in ("default", "before") else f"--threads {s} (s)" for s in settings]
    header = ["family", "steps", "competitors", *columns, "default / best"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families:
            for n in args.competitors:
                wall = {s: statistics.median(timed_run(family, STEPS[family], s, n, Path(tmp))
                                             for _ in range(args.rounds)) for s in settings}
                best = min(wall[str(k)] for k in range(1, cpus + 1))
                cells = [f"{wall[s]:.1f}" for s in settings]
                print(f"| {family} | {STEPS[family]} | {n} | " + " | ".join(cells)
                      + f" | {wall['default'] / best:.2f} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
