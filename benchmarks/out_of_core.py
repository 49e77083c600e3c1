"""Training from a .npy file larger than memory: throughput and peak RSS against in memory.

Writes MNIST's 60k training images (random data without MNIST) once and ten times over into
``.npy`` files under --dir, then in a fresh process each: trains a tied 784→500 DAE with masking
noise for one epoch (batch 128) (a) from the 1× array in memory, (b) from the 1× file out of core,
(c) from the 10× file out of core; reports examples/s and the process's peak RSS.

    python benchmarks/out_of_core.py [--dir /tmp/daekit-ooc] [--keep]

Prints a table and appends one JSON line to benchmarks/results/out_of_core.jsonl.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from daekit.utils.runtime import peak_rss_mb

RESULTS = Path(__file__).with_name("results")


def write_files(folder: Path) -> tuple[Path, Path]:
    try:
        from daekit.datasets import load_mnist

        x = load_mnist(download=False, verbose=False)[0]
    except Exception:
        x = np.random.default_rng(0).random((60000, 784), dtype=np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    one, ten = folder / "x1.npy", folder / "x10.npy"
    if not one.exists():
        np.save(one, x)
    if not ten.exists():
        big = np.lib.format.open_memmap(ten, mode="w+", dtype=np.float32, shape=(10 * len(x), x.shape[1]))
        for i in range(10):
            big[i * len(x) : (i + 1) * len(x)] = x
        big.flush()
        del big
    return one, ten


def worker(mode: str, path: str, threads: int) -> None:
    import torch

    from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit
    from daekit.training.batching import OutOfCoreArray

    torch.set_num_threads(threads)
    data = np.load(path) if mode == "memory" else OutOfCoreArray(path)
    model = DAE(784, 500, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    history = fit(
        model,
        DenoisingObjective(Masking(0.25)),
        data,
        TrainConfig(epochs=1, batch_size=128, lr=0.05, seed=0, verbose=0),
    )
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "examples_per_s": len(data) / history.records[0]["seconds"],
                "seconds": seconds,
                "n": len(data),
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/daekit-ooc")
    parser.add_argument("--keep", action="store_true", help="keep the .npy files")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], args.worker[1], args.threads)
    folder = Path(args.dir)
    one, ten = write_files(folder)
    rows = []
    for name, mode, path in (
        ("in memory, 1x", "memory", one),
        ("out of core, 1x", "disk", one),
        ("out of core, 10x", "disk", ten),
    ):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", mode, str(path), "--threads", str(args.threads)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = {"case": name, **json.loads(out.strip().splitlines()[-1])}
        rows.append(row)
        print(f"{name:>18}: {row['examples_per_s']:8.0f} examples/s, peak RSS {row['peak_rss_mb']:7.0f} MB", flush=True)
    base = rows[0]["examples_per_s"]
    print("\n| case | examples | examples/s | vs in memory | peak RSS (MB) |\n|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['n']} | {r['examples_per_s']:.0f} | {r['examples_per_s'] / base:.0%} | {r['peak_rss_mb']:.0f} |"
        )
    growth = rows[2]["peak_rss_mb"] - rows[1]["peak_rss_mb"]
    print(
        f"\npeak RSS growth from 1x to 10x out of core: {growth:+.0f} MB; "
        f"10x throughput / in memory: {rows[2]['examples_per_s'] / base:.0%}"
    )
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "out_of_core.jsonl", "a") as f:
        f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "rows": rows, "rss_growth_mb": growth}) + "\n")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
