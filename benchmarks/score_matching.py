"""Score matching on toy densities with exact scores: how close does each objective get to
∇ log q_σ?

For 8gaussians and 25gaussians (:mod:`daekit.datasets.toy`) at σ ∈ {0.05, 0.1, 0.5}, a score
network is trained on 20 000 samples of q with each objective of :mod:`daekit.score`, all aimed at
the smoothed density q_σ = q * N(0, σ²I):

* DSM  — J_DSM, fresh noise x̃ = x + σε every batch;
* ISM  — J_ISM (exact divergence) on x̃ = x + σε;
* ESM  — J_ESM against the exact ∇ log q_σ at x̃ = x + σε (the oracle);
* DSM, plain MLP — J_DSM with the same network without its Fourier-feature input;
* annealed — one NoiseConditionalScoreNet per density, trained with the σ²-weighted annealed
  DSM over 10 geometric levels 1 … 0.05 and evaluated at each σ of the table;
* tied DAE — a tied sigmoid DAE with a linear decoder (256 hidden units, Adam lr 0.1) trained
  with J_DAE (dae_loss), scored by its energy model's score (Vincent 2011, Proposition 2); also at
  σ = 1, where it can fit (its energy's sigmoid ridges cannot be both steep and narrow: a jump
  of J in r(x) takes a width ≥ 1/J, while q_σ's modes need jumps of about the mode spacing over
  widths of about σ²/spacing).

The metric is the relative Fisher divergence E‖s − ∇log q_σ‖² / E‖∇log q_σ‖² on 20 000 fresh
samples of q_σ (lower is better; 0.05 is the target). Networks: ScoreNet(2, hidden=(128, 128),
SiLU, 64 random Fourier features of scale 1, output scale 1/σ); Adam, batch 512, 50 epochs
(lr 3e-3 for 25, 6e-4 for 12, 1.2e-4 for 13), one CPU thread.

Run:  PYTHONPATH=src python benchmarks/score_matching.py          (about 8–10 minutes on 2 cores)
      PYTHONPATH=src python benchmarks/score_matching.py --quick  (a smoke test, ~1 minute)

Prints a table and appends one JSON line to benchmarks/results/score_matching.jsonl; saves the
score field of the DSM network on 8gaussians at σ = 0.1 to docs/images/score_field.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from daekit.datasets.toy import make_toy  # noqa: E402
from daekit.models.dae import DAE  # noqa: E402
from daekit.models.score_networks import NoiseConditionalScoreNet, ScoreNet  # noqa: E402
from daekit.score import (  # noqa: E402
    ScoreObjective,
    dae_score_fn,
    geometric_sigmas,
    relative_fisher_divergence,
)
from daekit.training.schedules import fit_in_phases  # noqa: E402
from daekit.utils.atomic import atomic_write_bytes  # noqa: E402
from daekit.viz import plot_score_field  # noqa: E402

METHODS = ["dsm", "ism", "esm", "dsm-plain", "annealed", "tied-dae"]
LABELS = {
    "dsm": "DSM",
    "ism": "ISM",
    "esm": "ESM (oracle)",
    "dsm-plain": "DSM plain MLP",
    "annealed": "annealed (NCSN)",
    "tied-dae": "tied DAE energy",
}
TARGET = 0.05


def _git_commit() -> str | None:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _score_net(sigma: float, fourier: int, seed: int) -> ScoreNet:
    return ScoreNet(
        2,
        (128, 128),
        "silu",
        output_scale=1.0 / sigma,
        fourier_features=fourier,
        generator=torch.Generator().manual_seed(seed),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few epochs, small samples: a smoke test")
    ap.add_argument("--data", nargs="+", default=["8gaussians", "25gaussians"])
    ap.add_argument("--sigmas", nargs="+", type=float, default=[0.05, 0.1, 0.5])
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument(
        "--dae-extra-sigmas", nargs="*", type=float, default=[1.0], help="further σ for the tied DAE only (default 1.0)"
    )
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--n-eval", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "score_matching.jsonl"))
    ap.add_argument("--figure", default=str(ROOT / "docs" / "images" / "score_field.png"))
    ap.add_argument("--no-save", action="store_true", help="print only: no JSON line, no figure")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.n_train, args.n_eval = 4, 4096, 4000
    torch.set_num_threads(args.threads)

    bs, lr = 512, 3e-3
    rows: list[dict] = []
    t_all = time.perf_counter()

    def record(data, sigma, method, rel, seconds, **extra):
        row = {"data": data, "sigma": sigma, "method": method, "relative_fisher": rel, "seconds": seconds, **extra}
        rows.append(row)
        print(f"  {data:12s} σ={sigma:<5g} {LABELS[method]:16s} rel. Fisher {rel:8.4f}  ({seconds:5.1f} s)", flush=True)

    for data in args.data:
        density = make_toy(data)
        x = density.sample(args.n_train, torch.Generator().manual_seed(args.seed), dtype=torch.float32)
        evals = {}
        dae_sigmas = list(args.sigmas) + [s for s in args.dae_extra_sigmas if s not in args.sigmas]
        for sigma in dae_sigmas:
            smoothed = density.smoothed(sigma)
            evals[sigma] = (
                smoothed,
                smoothed.sample(args.n_eval, torch.Generator().manual_seed(args.seed + 7), dtype=torch.float32),
            )
        for sigma in dae_sigmas:
            smoothed, x_eval = evals[sigma]
            for method in ("dsm", "ism", "esm", "dsm-plain"):
                if method not in args.methods or sigma not in args.sigmas:
                    continue
                kind = "dsm" if method == "dsm-plain" else method
                net = _score_net(sigma, 0 if method == "dsm-plain" else 64, args.seed + 1)
                objective = ScoreObjective(kind, sigma, true_score=smoothed.score)
                t0 = time.perf_counter()
                fit_in_phases(net, objective, x, args.epochs, lr, bs, seed=args.seed)
                seconds = time.perf_counter() - t0
                net.eval()
                record(data, sigma, method, relative_fisher_divergence(net, smoothed.score, x_eval), seconds)
                if not args.no_save and method == "dsm" and data == "8gaussians" and sigma == 0.1:
                    Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
                    plot_score_field(
                        net,
                        smoothed.score,
                        smoothed.prob,
                        args.figure,
                        extent=(-2.9, 2.9, -2.9, 2.9),
                        title=f"8gaussians, σ = 0.1: DSM-trained ScoreNet vs the exact score of q_σ "
                        f"(rel. Fisher {rows[-1]['relative_fisher']:.2g})",
                        labels=("exact ∇ log q_σ", "learned s_θ (DSM)"),
                    )
            if "tied-dae" in args.methods:
                model = DAE(
                    2,
                    256,
                    tied_weights=True,
                    activation="sigmoid",
                    reconstruction="gaussian",
                    generator=torch.Generator().manual_seed(args.seed + 1),
                )
                t0 = time.perf_counter()
                fit_in_phases(model, ScoreObjective("dae", sigma), x, args.epochs, 0.1, bs, seed=args.seed)
                seconds = time.perf_counter() - t0
                record(
                    data,
                    sigma,
                    "tied-dae",
                    relative_fisher_divergence(dae_score_fn(model, sigma), smoothed.score, x_eval),
                    seconds,
                )
        if "annealed" in args.methods:
            levels = geometric_sigmas(1.0, 0.05, 10)
            net = NoiseConditionalScoreNet(
                2, (128, 128), "silu", fourier_features=64, generator=torch.Generator().manual_seed(args.seed + 1)
            )
            t0 = time.perf_counter()
            # one network for all the table's σ: three times a single-σ budget
            fit_in_phases(net, ScoreObjective("annealed", sigmas=levels), x, 3 * args.epochs, lr, bs, seed=args.seed)
            seconds = time.perf_counter() - t0
            net.eval()
            for sigma in args.sigmas:
                smoothed, x_eval = evals[sigma]
                record(
                    data,
                    sigma,
                    "annealed",
                    relative_fisher_divergence(net.at(sigma), smoothed.score, x_eval),
                    seconds,
                    shared_network=True,
                )
    total = time.perf_counter() - t_all

    # ---- the table
    methods = [m for m in METHODS if m in args.methods]
    cell = {(r["data"], r["sigma"], r["method"]): r for r in rows}
    header = "| density | σ | " + " | ".join(LABELS[m] for m in methods) + " |"
    lines = [header, "|" + "---|" * (2 + len(methods))]
    for data in args.data:
        for sigma in sorted({r["sigma"] for r in rows if r["data"] == data}):
            vals = []
            for m in methods:
                r = cell.get((data, sigma, m))
                vals.append(
                    "—"
                    if r is None
                    else f"{r['relative_fisher']:.4f}" + (" ✗" if r["relative_fisher"] > TARGET else "")
                )
            lines.append(f"| {data} | {sigma:g} | " + " | ".join(vals) + " |")
    times = []
    for m in methods:
        secs = [r["seconds"] for r in rows if r["method"] == m]
        if m == "annealed":
            secs = secs[:: max(1, len(args.sigmas))]  # one shared network per density
        if secs:
            times.append(f"{LABELS[m]}: {sum(secs) / len(secs):.1f} s")
    print()
    print(
        "Relative Fisher divergence E‖s − ∇log q_σ‖² / E‖∇log q_σ‖² on fresh samples of q_σ "
        f"(✗: above the target {TARGET})"
    )
    print("\n".join(lines))
    print("\nMean wall time per trained model (annealed: one network per density, 3× the epochs): " + "; ".join(times))
    print(
        f"Total {total:.0f} s, torch {torch.__version__}, {args.threads} thread(s), {platform.processor() or platform.machine()}"
    )

    if not args.no_save:
        entry = {
            "benchmark": "score_matching",
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "torch": torch.__version__,
            "threads": args.threads,
            "quick": args.quick,
            "config": {
                "epochs": args.epochs,
                "n_train": args.n_train,
                "n_eval": args.n_eval,
                "batch_size": bs,
                "lr": lr,
                "lr_phases": "lr x1 for 1/2, /5 for 1/4, /25 for 1/4 of the epochs",
                "net": "ScoreNet(2, (128,128), silu, fourier_features=64, output_scale=1/sigma)",
                "plain_net": "same without fourier features",
                "tied_dae": "DAE(2, 256), lr 0.1",
                "dae_extra_sigmas": args.dae_extra_sigmas,
                "annealed": "NoiseConditionalScoreNet, 10 geometric sigmas 1..0.05, 3x epochs",
                "seed": args.seed,
                "target": TARGET,
            },
            "total_seconds": total,
            "results": rows,
            "table": "\n".join(lines),
        }
        path = Path(args.results)
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_bytes() if path.exists() else b""
        atomic_write_bytes(path, old + (json.dumps(entry, ensure_ascii=False) + "\n").encode())
        print(
            f"appended to {os.path.relpath(path, ROOT)}"
            + (f"; figure {os.path.relpath(args.figure, ROOT)}" if "dsm" in args.methods else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
