"""A folder of 200,000 images through ``image-folder``'s on-disk cache: build, memory, speed.

Writes (or reuses, with ``--dir``) a folder of 32x32 RGB JPEGs in 10 class subfolders, then:

- builds the cache into an empty folder (``--cache``; default: ``DIR-cache`` beside ``DIR``)
  in a fresh process: its time, its peak resident memory and its size on disk, then the time
  of a start that maps it;
- the images/s the trainer's batches (``iterate_batches``, batch 64) deliver from the mapped
  file against the same images held in memory, in one process, alternating blocks;
- ``genforge train --model cgan --data image-folder --set data.path=DIR --steps 50`` under
  ``/usr/bin/time -v`` with ``data.cache`` = the cache folder, then ``off`` (today's in-memory
  decode): each run's peak resident memory, and what float32 images in memory would need;
- the same command's steps/s between steps 10 and 50 (from ``metrics.jsonl``: loading
  excluded) on a set that fits in memory, the first ``--fit-images`` images (hard links in
  ``DIR-fit``), in pairs alternating the cache and ``off``.

Figures are printed, not asserted. Run: ``OMP_NUM_THREADS=1 python benchmarks/big_folder.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MIB = 2**20
GIB = 2**30
CLASSES = 10
SIDE = 32
DONE = ".complete"


def log(text: str) -> None:
    """A progress line on stderr."""
    print(text, file=sys.stderr, flush=True)


def ensure_folder(folder: Path, n: int) -> None:
    """``n`` JPEGs of ``SIDE`` x ``SIDE`` in ``CLASSES`` subfolders, written unless already there."""
    from PIL import Image

    done = folder / DONE
    if done.is_file() and done.read_text().strip() == str(n):
        log(f"reusing {folder} ({n:,} images)")
        return
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for k in range(CLASSES):
        (folder / f"class{k}").mkdir(parents=True, exist_ok=True)
    tint = rng.integers(0, 256, (CLASSES, 1, 1, 3))
    for i in range(n):
        path = folder / f"class{i % CLASSES}" / f"{i:07d}.jpg"
        coarse = rng.integers(0, 256, (4, 4, 3))  # drawn for every i: the same images on a rerun
        if path.exists():
            continue
        pixels = ((coarse + tint[i % CLASSES]) // 2).astype(np.uint8)
        Image.fromarray(pixels).resize((SIDE, SIDE), Image.Resampling.BILINEAR).save(path, quality=90)
        if (i + 1) % 10_000 == 0:
            rate = (i + 1) / (time.perf_counter() - start)
            log(f"  wrote {i + 1:,} of {n:,} images ({rate:,.0f}/s)")
    done.write_text(f"{n}\n")


def max_rss(stderr: str) -> int:
    """Bytes of ``/usr/bin/time -v``'s maximum resident set size."""
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if found is None:
        raise RuntimeError(f"no peak memory in /usr/bin/time's output:\n{stderr[-2000:]}")
    return int(found.group(1)) * 1024


def timed(cmd: list[str]) -> tuple[str, int]:
    """Run ``cmd`` under ``/usr/bin/time -v``; its stdout and peak resident memory."""
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return out.stdout, max_rss(out.stderr)


def child_load(folder: str, cache: str) -> None:
    """Load the folder through the cache; print the seconds it took (imports excluded)."""
    import torch  # noqa: F401 - imported before the clock starts, as the trainer has it

    from genforge.data import image_folder

    start = time.perf_counter()
    data = image_folder.load(image_folder.ImageFolderConfig(path=folder, cache=cache))
    print(json.dumps({"seconds": time.perf_counter() - start, "mapped": data.train.on_disk}))


def child_batches(folder: str, cache: str, batches: int, rounds: int) -> None:
    """Images/s of ``iterate_batches`` over the mapped training split and over an in-memory copy."""
    import torch

    from genforge.data import image_folder
    from genforge.data.base import TensorData
    from genforge.trainer import iterate_batches

    torch.set_num_threads(1)
    data = image_folder.load(image_folder.ImageFolderConfig(path=folder, cache=cache))
    mapped = data.train
    assert isinstance(mapped, TensorData) and mapped.on_disk
    memory = TensorData(mapped.stored.clone(), mapped.y, as_bytes=True)
    cpu = torch.device("cpu")
    rates: dict[str, list[float]] = {"mapped": [], "memory": []}
    for r in range(rounds):
        for name in (("mapped", "memory") if r % 2 == 0 else ("memory", "mapped")):
            it = iterate_batches(mapped if name == "mapped" else memory, 64, seed=r, start_step=0, device=cpu)
            start = time.perf_counter()
            for _ in range(batches):
                next(it)
            rates[name].append(batches * 64 / (time.perf_counter() - start))
    print(json.dumps(rates))


def train_run(genforge: Path, folder: Path, cache: str, out: Path, steps: int) -> dict[str, float]:
    """One ``genforge train`` of cgan: its peak memory and its steps/s after step 10."""
    cmd = [str(genforge), "train", "--model", "cgan", "--data", "image-folder",
           "--set", f"data.path={folder}", "--steps", str(steps), "--set", f"data.cache={cache}",
           "--threads", "1", "--set", "trainer.progress=false", "--set", "trainer.log_every=10",
           "--out", str(out)]
    _, rss = timed(cmd)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    first, last = lines[0], lines[-1]
    shutil.rmtree(out)
    return {"rss": rss, "steps_per_s": (last["step"] - first["step"]) / (last["time_s"] - first["time_s"])}


def linked(folder: Path, fit: Path, n: int) -> None:
    """The first ``n`` images of ``folder`` in ``fit``, as hard links (copies across file systems)."""
    for i in range(n):
        name = Path(f"class{i % CLASSES}", f"{i:07d}.jpg")
        if (fit / name).exists():
            continue
        (fit / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(folder / name, fit / name)
        except OSError:
            shutil.copy2(folder / name, fit / name)


def folder_bytes(path: Path) -> int:
    """Bytes the files under ``path`` take on disk (allocated blocks)."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def main() -> None:
    """Write or reuse the folder, then measure and print every figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("big-folder"), help="the image folder (reused)")
    parser.add_argument("--cache", type=Path, help="the cache folder, emptied first (default: DIR-cache)")
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=5, help="alternated cache/off training pairs")
    parser.add_argument("--fit-images", type=int, default=20_000, help="images of the paired runs")
    parser.add_argument("--batches", type=int, default=500, help="batches per block of the data path")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "load":
            child_load(*rest)
        else:
            child_batches(rest[0], rest[1], int(rest[2]), int(rest[3]))
        return
    folder = args.dir.resolve()
    cache = (args.cache or folder.with_name(folder.name + "-cache")).resolve()
    bin_dir = Path(sys.executable).parent
    ensure_folder(folder, args.images)
    n = args.images
    shutil.rmtree(cache, ignore_errors=True)
    threads = os.environ.get("OMP_NUM_THREADS")
    print(f"folder: {folder} ({n:,} JPEGs of {SIDE}x{SIDE} RGB, {CLASSES} classes, "
          f"{folder_bytes(folder) / MIB:,.0f} MiB on disk); OMP_NUM_THREADS={threads}")

    log("building the cache")
    me = [sys.executable, __file__, "--child"]
    out, build_rss = timed([*me, "load", str(folder), str(cache)])
    build = json.loads(out)
    size = folder_bytes(cache)
    images = n * 3 * SIDE * SIDE
    print(f"cache build: {build['seconds']:.1f} s ({n / build['seconds']:,.0f} images/s), peak resident "
          f"memory {build_rss / MIB:,.0f} MiB; on disk {size / MIB:,.0f} MiB "
          f"(images {images / MIB:,.0f} MiB)")
    out, load_rss = timed([*me, "load", str(folder), str(cache)])
    again = json.loads(out)
    assert again["mapped"]
    print(f"start from the cache (listing, stat of every file, map): {again['seconds']:.1f} s, "
          f"peak resident memory {load_rss / MIB:,.0f} MiB")

    log("timing the data path")
    out, _ = timed([*me, "batches", str(folder), str(cache), str(args.batches), "4"])
    rates = json.loads(out)
    print(f"data path (iterate_batches, batch 64, float32 batches, one thread): mapped "
          f"{statistics.median(rates['mapped']):,.0f} images/s, in memory "
          f"{statistics.median(rates['memory']):,.0f} images/s (medians of {len(rates['mapped'])} "
          f"blocks of {args.batches} batches)")

    genforge = bin_dir / "genforge"
    with tempfile.TemporaryDirectory() as tmp:
        log("peak memory of training, cache then off")
        big = {name: train_run(genforge, folder, str(cache) if name == "cache" else "off", Path(tmp, "run"),
                               args.steps) for name in ("cache", "off")}
        print(f"genforge train --model cgan --data image-folder --set data.path=DIR --steps {args.steps} "
              f"(--threads 1; {n:,} images):")
        print(f"| data.cache | peak resident memory | steps/s (steps 10 to {args.steps}) |")
        print("|---|---|---|")
        for name, r in big.items():
            print(f"| {name} | {r['rss'] / GIB:.2f} GiB | {r['steps_per_s']:.3f} |")
        process = big["off"]["rss"] - images
        need = images * 4
        print(f"float32 images in memory: {n:,} x 3 x {SIDE} x {SIDE} x 4 bytes = {need / GIB:.2f} GiB, plus "
              f"the process (the off run's peak less its uint8 images: {process / MIB:,.0f} MiB) = "
              f"{(need + process) / GIB:.2f} GiB")

        fit = folder.with_name(folder.name + "-fit")
        linked(folder, fit, args.fit_images)
        timed([*me, "load", str(fit), str(cache)])  # its cache built before the first pair
        runs: dict[str, list[float]] = {"cache": [], "off": []}
        for p in range(args.pairs):
            for name in (("cache", "off") if p % 2 == 0 else ("off", "cache")):
                log(f"pair {p + 1} of {args.pairs}: training with data.cache = {name}")
                setting = str(cache) if name == "cache" else "off"
                run = train_run(genforge, fit, setting, Path(tmp, "run"), args.steps)
                runs[name].append(run["steps_per_s"])
    ratios = [c / o for c, o in zip(runs["cache"], runs["off"], strict=True)]
    print(f"steps/s of the same command on the first {args.fit_images:,} images ({fit.name}, hard links), "
          f"{args.pairs} alternated pairs:")
    for name in ("cache", "off"):
        print(f"  {name}: {', '.join(f'{r:.3f}' for r in runs[name])}")
    print(f"  cache over off, per pair: {', '.join(f'{r:.3f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.3f}")

if __name__ == "__main__":
    main()
