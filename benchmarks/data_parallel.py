"""Data-parallel throughput: 1 process vs N processes (torchrun, gloo) at the same global batch.

Trains a tied 784→500 DAE with masking noise for 2 epochs on the first --examples MNIST images (random
data if MNIST is absent) and reports examples/s of the second epoch. N ranks each take a batch of
global/N; one process takes the whole global batch (with 1 thread, and with N threads).

    python benchmarks/data_parallel.py [--nproc 2] [--global-batch 40] [--examples 20000]

Prints a table and appends one JSON line to benchmarks/results/distributed.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


def worker(args: argparse.Namespace) -> None:
    import torch

    from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit

    torch.set_num_threads(args.threads)
    try:
        from daekit.datasets import load_mnist

        x = torch.as_tensor(load_mnist(download=False, verbose=False)[0][: args.examples])
    except Exception:
        x = torch.rand(args.examples, 784, generator=torch.Generator().manual_seed(0))
    model = DAE(784, 500, generator=torch.Generator().manual_seed(0))
    history = fit(
        model,
        DenoisingObjective(Masking(0.25)),
        x,
        TrainConfig(epochs=2, batch_size=args.batch, lr=0.05, seed=0, verbose=0),
    )
    if int(os.environ.get("RANK", "0")) == 0:
        Path(args.report).write_text(
            json.dumps({"seconds": history.records[-1]["seconds"], "loss": history.records[-1]["train_loss"]})
        )


def measure(nproc: int, threads: int, batch: int, n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        worker_args = [
            __file__,
            "--worker",
            "--threads",
            str(threads),
            "--batch",
            str(batch),
            "--examples",
            str(n),
            "--report",
            str(report),
        ]
        if nproc > 1:
            cmd = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                f"--nproc_per_node={nproc}",
                *worker_args,
            ]
        else:
            cmd = [sys.executable, *worker_args]
        subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        out = json.loads(report.read_text())
    return {
        "processes": nproc,
        "threads_each": threads,
        "per_rank_batch": batch,
        "examples_per_s": n / out["seconds"],
        "final_loss": out["loss"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=40, help=argparse.SUPPRESS)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--global-batch", type=int, default=40)
    parser.add_argument("--examples", type=int, default=20000)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    g, p = args.global_batch, args.nproc
    rows = [measure(1, 1, g, args.examples), measure(1, p, g, args.examples), measure(p, 1, g // p, args.examples)]
    base = rows[0]["examples_per_s"]
    print("\n| processes | threads each | per-rank batch | examples/s | vs 1 process, 1 thread | final loss |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['processes']} | {r['threads_each']} | {r['per_rank_batch']} | {r['examples_per_s']:.0f} | "
            f"{r['examples_per_s'] / base:.2f}x | {r['final_loss']:.3f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "distributed.jsonl", "a") as f:
        f.write(
            json.dumps(
                {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "global_batch": g, "n": args.examples, "rows": rows}
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
