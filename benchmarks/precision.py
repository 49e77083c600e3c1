"""bfloat16 matrix products against float32: the speed of a training step, and the accuracy cost.

1. Speed. ``daekit.fit`` for one epoch (after a warm-up epoch) at ``precision="float32"`` and
   ``"bfloat16"``, measured in turn for --rounds rounds (the order alternating), for
     dae      a tied 784->1000 sigmoid DAE with masking noise (a pretraining step);
     network  the 784-1000-1000-1000-10 classifier (a fine-tuning step);
   at each batch size. The ratio float32 / bfloat16 time is taken within a round; the table gives
   its median over the rounds and its range.
2. Accuracy. An SdA-3 (1000-1000-1000, masking ν = 0.1, 0.2, 0.3) trained twice on MNIST with the
   same seed and settings, once per precision (the first --train-size training images, the last
   10k of the training file for validation, the 10k test set): test error, validation error,
   final pretraining cross-entropy of each layer and wall time per phase.

    python benchmarks/precision.py [--quick] [--threads 1] [--skip-accuracy]

bfloat16 pays only where the hardware multiplies it natively (Intel AMX or AVX512-BF16, recent
GPUs); elsewhere the products are emulated and slower (``daekit.numerics.precision.bfloat16_is_native``).
Prints tables and appends one JSON line to benchmarks/results/precision.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import warnings

import torch

from _report import append_result, machine_info, round_ratios, timed_rounds
from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit
from daekit.models.stacked import StackedNetwork
from daekit.numerics.precision import bfloat16_is_native
from daekit.objectives.classification import ClassificationObjective

PRECISIONS = ("float32", "bfloat16")


def seconds_per_step(kind: str, x: torch.Tensor, y: torch.Tensor, batch: int, steps: int, precision: str) -> float:
    """``fit`` for two epochs of ``steps`` batches; the second epoch's time per step."""
    x, y = x[: steps * batch], y[: steps * batch]
    g = torch.Generator().manual_seed(0)
    if kind == "dae":
        model, objective, data = DAE(784, 1000, generator=g), DenoisingObjective(Masking(0.25)), x
    else:
        model, objective, data = StackedNetwork(784, [1000] * 3, 10, generator=g), ClassificationObjective(), (x, y)
    history = fit(
        model, objective, data, TrainConfig(epochs=2, batch_size=batch, lr=0.01, seed=0, verbose=0, precision=precision)
    )
    return history.records[-1]["seconds"] / steps


def speed(args, x: torch.Tensor, y: torch.Tensor) -> list[dict]:
    rows = []
    for kind in ("dae", "network"):
        for batch in [int(b) for b in args.batches.split(",")]:
            steps = {20: 300, 128: 60, 512: 16}.get(batch, max(6000 // batch, 10))
            if args.quick:
                steps = max(steps // 4, 5)
            seconds = timed_rounds(
                {p: lambda p=p: seconds_per_step(kind, x, y, batch, steps, p) for p in PRECISIONS}, args.rounds
            )
            speedup, (lo, hi) = round_ratios(seconds["float32"], seconds["bfloat16"])
            row = {
                "model": kind,
                "batch": batch,
                "rounds": args.rounds,
                **{f"{p}_examples_per_s": batch / statistics.median(seconds[p]) for p in PRECISIONS},
                "bfloat16_speedup": speedup,
                "bfloat16_speedup_range": [lo, hi],
                "seconds_per_step": seconds,
            }
            rows.append(row)
            print(
                f"{kind:>8} batch {batch:>4}: float32 {row['float32_examples_per_s']:8.0f}/s  bfloat16 "
                f"{row['bfloat16_examples_per_s']:8.0f}/s  bfloat16 speed-up {speedup:.2f}x "
                f"({lo:.2f}-{hi:.2f})",
                flush=True,
            )
    return rows


def accuracy(args) -> list[dict]:
    from daekit.datasets import load_mnist
    from daekit.stacked import StackedConfig, train_stacked

    x, y, x_test, y_test = load_mnist(download=False, verbose=False)
    n = args.train_size
    splits = (x[:n], y[:n], x[50000:], y[50000:])
    rows = []
    for precision in PRECISIONS:
        config = StackedConfig(
            hidden_layer_sizes=(1000, 1000, 1000),
            noise_levels=(0.1, 0.2, 0.3),
            pretrain_epochs=args.pretrain_epochs,
            finetune_epochs=args.finetune_epochs,
            pretrain_learning_rate=args.pretrain_lr,
            finetune_learning_rate=args.finetune_lr,
            batch_size=args.accuracy_batch,
            early_stopping=False,
            seed=0,
            device="cpu",
            precision=precision,
        )
        result = train_stacked(*splits, config, n_classes=10)
        net = result.network.eval()
        with torch.no_grad():
            errors = [
                float((net(torch.as_tensor(a)).argmax(1) != torch.as_tensor(b)).float().mean())
                for a, b in ((x_test, y_test), (x[50000:], y[50000:]))
            ]
        seconds = result.phase_seconds
        row = {
            "precision": precision,
            "test_error": errors[0],
            "valid_error": errors[1],
            "pretrain_final_loss": [h.train_loss[-1] for h in result.pretrain_histories],
            "pretrain_s": sum(v for k, v in seconds.items() if k.startswith("pretrain")),
            "finetune_s": seconds["finetune"],
        }
        rows.append(row)
        print(
            f"{precision:>9}: test error {100 * row['test_error']:.2f}%  valid {100 * row['valid_error']:.2f}%  "
            f"pretraining loss {', '.join(f'{v:.2f}' for v in row['pretrain_final_loss'])}  "
            f"pretrain {row['pretrain_s']:.0f} s  finetune {row['finetune_s']:.0f} s",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, 2 rounds, a small accuracy run")
    parser.add_argument("--rounds", type=int, default=None, help="speed rounds per cell (default 5)")
    parser.add_argument("--batches", default="20,128,512")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--train-size", type=int, default=None, help="accuracy run: training images (default 50000)")
    parser.add_argument("--accuracy-batch", type=int, default=128)
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="accuracy run (default 10)")
    parser.add_argument("--finetune-epochs", type=int, default=None, help="accuracy run (default 20)")
    parser.add_argument("--pretrain-lr", type=float, default=0.1)
    parser.add_argument("--finetune-lr", type=float, default=0.5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.train_size = args.train_size or (5000 if args.quick else 50000)
    args.pretrain_epochs = args.pretrain_epochs or (2 if args.quick else 10)
    args.finetune_epochs = args.finetune_epochs or (3 if args.quick else 20)
    native = bfloat16_is_native("cpu")
    if not native:
        print("note: this CPU has no native bfloat16 units (AMX / AVX512-BF16): bfloat16 is emulated here")
    warnings.simplefilter("ignore", RuntimeWarning)  # that same note, from every fit
    try:
        from daekit.datasets import load_mnist

        x_all, y_all = (torch.as_tensor(a) for a in load_mnist(download=False, verbose=False)[:2])
    except Exception:  # no MNIST: random inputs time the same
        g = torch.Generator().manual_seed(1)
        x_all, y_all = torch.rand(60000, 784, generator=g), torch.randint(0, 10, (60000,), generator=g)
        args.skip_accuracy = True
    speed_rows = speed(args, x_all, y_all)
    accuracy_rows = [] if args.skip_accuracy else accuracy(args)
    machine = machine_info(bfloat16_native=native)
    print("\n| step | batch | float32 ex/s | bfloat16 ex/s | bfloat16 speed-up (range) |")
    print("|---|---|---|---|---|")
    for r in speed_rows:
        lo, hi = r["bfloat16_speedup_range"]
        print(
            f"| {r['model']} | {r['batch']} | {r['float32_examples_per_s']:.0f} | {r['bfloat16_examples_per_s']:.0f} | "
            f"{r['bfloat16_speedup']:.2f}x ({lo:.2f}–{hi:.2f}) |"
        )
    if accuracy_rows:
        print(
            f"\nSdA-3 on {args.train_size} MNIST images, batch {args.accuracy_batch}, {args.pretrain_epochs} "
            f"pretraining epochs (lr {args.pretrain_lr:g}), {args.finetune_epochs} fine-tuning epochs "
            f"(lr {args.finetune_lr:g}):"
        )
        print(
            "\n| precision | test error (%) | valid error (%) | pretraining loss (layers 1/2/3) | pretrain s | finetune s |"
        )
        print("|---|---|---|---|---|---|")
        for r in accuracy_rows:
            print(
                f"| {r['precision']} | {100 * r['test_error']:.2f} | {100 * r['valid_error']:.2f} | "
                f"{' / '.join(f'{v:.2f}' for v in r['pretrain_final_loss'])} | {r['pretrain_s']:.0f} | "
                f"{r['finetune_s']:.0f} |"
            )
    print(f"\nmachine: {machine}")
    append_result(
        "precision",
        {"quick": args.quick, "machine": machine, "args": vars(args), "speed": speed_rows, "accuracy": accuracy_rows},
    )


if __name__ == "__main__":
    main()
