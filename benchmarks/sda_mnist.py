"""Benchmark: stacked denoising autoencoders on MNIST (Vincent et al. 2008, Table 1 setting).

Three variants, all from the same code (``daekit sda``, one subprocess each so that every run
has its own run folder, result.json and peak RSS):

* ``SdA-3``     — denoising pretraining, masking noise ν = (0.1, 0.2, 0.3) per layer
                  (the Theano tutorial's SdA setting), then fine-tuning;
* ``SAA-3``     — the same with ν = 0 (stacked ordinary autoencoders);
* ``no-pretrain`` — the same network fine-tuned from random initialization.

Network [1000, 1000, 1000] sigmoid units, tied weights, cross-entropy reconstruction. Theano
tutorial: pretraining lr 0.001 with batch 1 for 15 epochs, fine-tuning lr 0.1 with batch 1 for up
to 1000 epochs; here minibatches of 20 with pretraining lr 0.05 (≈ 20 × 0.001 per example, a bit
more) for 15 epochs per layer, fine-tuning lr 0.1 for up to 100 epochs with early stopping
(patience 10) on the validation error, keeping the best parameters.

Data: train on the first 50,000 MNIST training images, validate on the last 10,000, test on the
10,000 test images. ``--train-size 10000`` trains on the first 10,000 only (the size of the
2007 benchmark's mnist-basic training set; its validation/test sets differ: here the last 10k of
the training file and the official test set). ``--quick``: 10k training images and few epochs
(a few minutes on two cores).

Prints a table (test error ± 95% interval, wall time per phase, peak RSS) and appends one JSON line
to ``benchmarks/results/sda_mnist.jsonl``. Run folders go to ``runs/sda_mnist/<mode>/<variant>``;
``--resume`` continues killed runs there.

    python benchmarks/sda_mnist.py --quick
    python benchmarks/sda_mnist.py --train-size 10000
    nohup python benchmarks/sda_mnist.py > benchmarks/results/sda_mnist_full.log 2>&1 &
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sda_mnist.jsonl"

VARIANTS = {
    "SdA-3": [],  # the noise levels of --noise
    "SAA-3": ["--noise", "0"],
    "no-pretrain": ["--no-pretrain"],
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10k training images, 2 pretraining and 8 fine-tuning epochs")
    p.add_argument("--train-size", type=int, default=None, help="train on the first N of the 50k (e.g. 10000)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS))
    p.add_argument("--layers", default="1000,1000,1000")
    p.add_argument("--noise", default="0.1,0.2,0.3", help="SdA noise levels (masking fraction per layer)")
    p.add_argument("--pretrain-epochs", type=int, default=None, help="default 15 (2 with --quick)")
    p.add_argument("--finetune-epochs", type=int, default=None, help="default 100 (8 with --quick)")
    p.add_argument("--pretrain-lr", type=float, default=0.05)
    p.add_argument("--finetune-lr", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads per run (default 1: on a shared 2-core machine one thread is faster)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--out-root", default=str(ROOT / "runs" / "sda_mnist"))
    p.add_argument("--resume", action="store_true", help="continue the runs in --out-root")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines from the runs")
    args = p.parse_args(argv)
    if args.quick:
        args.train_size = args.train_size or 10_000
        args.pretrain_epochs = 2 if args.pretrain_epochs is None else args.pretrain_epochs
        args.finetune_epochs = 8 if args.finetune_epochs is None else args.finetune_epochs
    args.pretrain_epochs = 15 if args.pretrain_epochs is None else args.pretrain_epochs
    args.finetune_epochs = 100 if args.finetune_epochs is None else args.finetune_epochs
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    return args


def mode_name(args) -> str:
    if args.quick:
        return "quick"
    return f"train{args.train_size}" if args.train_size else "full"


def run_variant(name: str, args, out: Path) -> dict:
    argv = [
        sys.executable,
        "-m",
        "daekit",
        "sda",
        "--data",
        "mnist",
        "--layers",
        args.layers,
        "--noise",
        args.noise,
        "--pretrain-epochs",
        str(args.pretrain_epochs),
        "--finetune-epochs",
        str(args.finetune_epochs),
        "--pretrain-lr",
        str(args.pretrain_lr),
        "--finetune-lr",
        str(args.finetune_lr),
        "--batch-size",
        str(args.batch_size),
        "--patience",
        str(args.patience),
        "--seed",
        str(args.seed),
        "--device",
        args.device,
        "--threads",
        str(args.threads),
        "--valid-size",
        "10000",
        "--out",
        str(out),
        *VARIANTS[name],
    ]
    if args.train_size:
        argv += ["--train-size", str(args.train_size)]
    if args.resume:
        argv.append("--resume")
    if args.quiet:
        argv.append("--quiet")
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    shared = ROOT.parent / "shared" / "data"
    if "DAEKIT_DATA" not in env and shared.is_dir():
        env["DAEKIT_DATA"] = str(shared)
    print(f"== {name}: {' '.join(argv[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=ROOT, stdout=sys.stdout if not args.quiet else subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {proc.returncode}")
    result = json.loads((out / "result.json").read_text())
    result["process_seconds"] = time.perf_counter() - t0
    result["config"] = json.loads((out / "config.json").read_text())
    return result


def table(results: dict[str, dict]) -> str:
    phases = ["pretrain-1", "pretrain-2", "pretrain-3", "finetune"]
    head = (
        f"{'model':<12} {'test error (%)':>16} {'valid error (%)':>16} {'best ep':>7} "
        + " ".join(f"{p:>10}" for p in phases)
        + f" {'total s':>8} {'peak RSS MB':>11}"
    )
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        sec = r.get("phase_seconds", {})
        cells = " ".join(f"{sec[p]:>10.0f}" if p in sec else f"{'-':>10}" for p in phases)
        lines.append(
            f"{name:<12} {100 * r['test_error']:>9.2f} ± {100 * r['test_error_ci95']:<4.2f} "
            f"{100 * r['valid_error']:>9.2f} ± {100 * r['valid_error_ci95']:<4.2f} {r['best_epoch']:>7} {cells} "
            f"{r['total_seconds']:>8.0f} {r['peak_rss_mb']:>11.0f}"
        )
    lines.append(
        "phase columns: training seconds of each phase (sum over its epochs, including any epochs run "
        "before a resume); ± is the 95% interval 1.96·√(p(1−p)/n)."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    mode = mode_name(args)
    root = Path(args.out_root) / mode
    results = {}
    t0 = time.perf_counter()
    for name in args.variants:
        results[name] = run_variant(name, args, root / name)
    print()
    print(
        f"MNIST, {mode}: train {results[args.variants[0]]['n_train']}, valid "
        f"{results[args.variants[0]]['n_valid']}, test {results[args.variants[0]]['n_test']}; "
        f"layers {args.layers}, SdA noise {args.noise}"
    )
    print(table(results))
    import torch

    record = {
        "benchmark": "sda_mnist",
        "mode": mode,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "settings": {k: v for k, v in vars(args).items() if k not in ("out_root", "quiet")},
        "wall_seconds": time.perf_counter() - t0,
        "variants": {
            name: {
                k: r.get(k)
                for k in (
                    "test_error",
                    "test_error_ci95",
                    "valid_error",
                    "valid_error_ci95",
                    "train_error",
                    "best_epoch",
                    "finetune_epochs_run",
                    "stopped_early",
                    "pretrain_final_loss",
                    "phase_seconds",
                    "wall_seconds",
                    "total_seconds",
                    "peak_rss_mb",
                    "resumed",
                    "n_train",
                    "n_valid",
                    "n_test",
                )
            }
            for name, r in results.items()
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
    print(f"appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
