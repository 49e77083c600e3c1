"""Generating MNIST with the EDM-preconditioned U-Net: train within a wall-clock budget, sample
with the four samplers, and measure every sample-quality metric beside the held-out rows.

    DAEKIT_DATA=/path/with/mnist python benchmarks/unet_mnist.py --out runs/unet-bench \
        [--minutes 60] [--n-samples 10000] [--workers 2] [--skip-train] [--reference-only]

1. ``daekit.runs.denoiser.train_mnist_unet_run`` (what ``daekit score train --data mnist --model
   unet`` runs) on the first 50,000 training images, for --minutes.
2. ``daekit.runs.denoiser.sample_denoiser_run`` (``daekit sample RUN --method M``) for ode,
   stochastic, annealed and chain, --n-samples each (the methods spread over --workers
   single-threaded processes), saved to OUT/samples_M.npy.
3. ``daekit.runs.denoiser.evaluate_sample_file`` (``daekit evaluate-samples FILE``) on each file,
   --reference-only computes the held-out rows once (10,000 training images as samples; the
   Fréchet floor) into OUT/reference.json, which the table then shows.

Prints a markdown table and appends one JSON line to benchmarks/results/unet_mnist.jsonl.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from _report import append_result, machine_info

METHODS = {  # sampler options: EDM 18 steps = 35 evaluations; annealed 10 levels; chain at σ = 0.5
    "ode": {"n_steps": 18},
    "stochastic": {"n_steps": 18},
    "annealed": {"steps_per_level": 10},
    "chain": {"sigma": 0.5, "n_steps": 30},
}


def draw(job: tuple[str, str, int, str, dict]) -> dict:
    run, method, n, precision, options = job
    torch.set_num_threads(1)
    from daekit.runs.denoiser import sample_denoiser_run, save_samples

    samples, seconds = sample_denoiser_run(run, method, n, seed=1, precision=precision, **options)
    path = save_samples(Path(run) / f"samples_{method}.npy", samples)
    return {
        "method": method,
        "n": n,
        "options": options,
        "precision": precision,
        "sample_seconds": seconds,
        "seconds_per_1000": 1000 * seconds / n,
        "path": str(path),
    }


def save_grid(samples_file: str, path: Path) -> None:
    """The first 100 samples of ``samples_file`` as a 10×10 grid PNG."""
    import numpy as np

    from daekit.viz import plot_samples

    plot_samples(np.load(samples_file)[:100].reshape(-1, 784), path, clip=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-samples", type=int, default=10_000)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--ode-steps", type=int, default=18)
    p.add_argument("--annealed-steps", type=int, default=10, help="steps per level")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--sample-precision",
        default="float32",
        choices=["float32", "bfloat16"],
        help="the network under bfloat16 autocast while sampling",
    )
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--skip-sample", action="store_true")
    p.add_argument("--grids", default=None, help="folder for 10×10 sample grids samples_unet_M.png (e.g. docs/images)")
    p.add_argument(
        "--reference-only",
        action="store_true",
        help="only compute the held-out rows into OUT/reference.json (no model needed)",
    )
    return p.parse_args()


def main() -> None:
    args = parse_args()
    from daekit.runs.denoiser import evaluate_sample_file, train_mnist_unet_run

    out = Path(args.out)
    record: dict = {"machine": machine_info(), "args": vars(args)}
    if args.reference_only:
        from daekit.metrics.mnist_classifier import get_mnist_classifier
        from daekit.metrics.sample_quality import reference_rows
        from daekit.runs.denoiser import mnist_images

        torch.set_num_threads(args.threads)
        x_train, _, x_test, _ = mnist_images()
        record["reference"] = reference_rows(get_mnist_classifier(), x_train, x_test)
        out.mkdir(parents=True, exist_ok=True)
        (out / "reference.json").write_text(json.dumps(record["reference"]))
        append_result("unet_mnist", record)
        print(json.dumps(record["reference"]))
        return
    if not args.skip_train:
        torch.set_num_threads(args.threads)
        record["train"] = train_mnist_unet_run(
            out,
            minutes=args.minutes,
            epochs=1000,
            channels=args.channels,
            blocks_per_level=args.blocks,
            batch_size=args.batch_size,
            lr=args.lr,
        )
        print(f"trained: {json.dumps(record['train'])}", flush=True)
    else:
        record["train"] = json.loads((out / "result.json").read_text())
    methods = [m for m in args.methods.split(",") if m]
    options = {m: dict(METHODS[m]) for m in methods}
    for m in ("ode", "stochastic"):
        if m in options:
            options[m]["n_steps"] = args.ode_steps
    if "annealed" in options:
        options["annealed"]["steps_per_level"] = args.annealed_steps
    if not args.skip_sample:
        jobs = [(str(out), m, args.n_samples, args.sample_precision, options[m]) for m in methods]
        with ProcessPoolExecutor(args.workers) as pool:
            record["sampling"] = list(pool.map(draw, jobs))
        (out / "sampling.json").write_text(json.dumps(record["sampling"]))
    else:
        record["sampling"] = json.loads((out / "sampling.json").read_text())
    if args.grids:
        for s in record["sampling"]:
            save_grid(s["path"], Path(args.grids) / f"samples_unet_{s['method']}.png")
    torch.set_num_threads(args.threads)
    from daekit.runs.denoiser import mnist_images, save_samples

    # the held-out row at the same sample count: training images scored as if they were samples
    n = record["sampling"][0]["n"] if record["sampling"] else args.n_samples
    held_out = save_samples(out / "samples_heldout.npy", mnist_images()[0][10_000 : 10_000 + n])
    sampled = record["sampling"] + [
        {
            "method": f"data: {n:,} training images as samples",
            "n": n,
            "path": str(held_out),
            "seconds_per_1000": float("nan"),
        }
    ]
    rows = []
    for s in sampled:
        t0 = time.perf_counter()
        metrics = evaluate_sample_file(s["path"])
        rows.append({**s, **metrics, "evaluate_seconds": time.perf_counter() - t0})
        print(json.dumps(rows[-1]), flush=True)
    record["rows"] = rows
    append_result("unet_mnist", record)
    minutes = record["train"]["train_seconds"] / 60
    print(
        "\n| sampler | samples | Parzen (nats) | Fréchet | recognizable | max class dev. | memorization | "
        "train min | s / 1,000 samples |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        name = r["method"] if r["method"].startswith("data:") else f"U-Net, {r['method']}"
        print(
            f"| {name} | {r['n_samples']:,} | {r['parzen']:.1f} ± {r['parzen_se']:.1f} | "
            f"{r['frechet']:.2f} ± {r['frechet_se']:.2f} | {100 * r['recognizable']:.1f} % | "
            f"{100 * r['max_class_deviation']:.1f} pp | {r['memorization']:.3f} ± {r['memorization_se']:.3f} | "
            f"{minutes:.0f} | {r['seconds_per_1000']:.0f} |"
        )
    if (out / "reference.json").is_file():
        ref = json.loads((out / "reference.json").read_text())
        print(
            f"| held-out: {ref['n_samples']:,} training images as samples | {ref['n_samples']:,} | "
            f"{ref['parzen']:.1f} ± {ref['parzen_se']:.1f} | floor {ref['frechet_floor']:.2f} | "
            f"{100 * ref['recognizable']:.1f} % | {100 * ref['max_class_deviation']:.1f} pp | – | – | – |"
        )


if __name__ == "__main__":
    main()
