"""Benchmark: sampling from denoising autoencoders and score models.

(a) Toy 2-D ``8gaussians`` (:func:`daekit.datasets.toy.make_toy`): samples from
    * Langevin dynamics on the exact score of the smoothed density q_σ (σ small),
    * annealed Langevin on the exact scores of q_σ over 10 levels,
    * Langevin on a :class:`ScoreNet` trained by denoising score matching (and the same samples
      after one Tweedie denoising step x + σ²·s(x)),
    * the DAE chain of a DAE (2 → 64 sigmoid → 2, untied, Gaussian reconstruction) trained with
      Gaussian corruption (σ = 0.25) on the same data (moving by reconstruction means, and by draws from its
      unit-variance Gaussian reconstruction distribution),
    each scored by the unbiased MMD² (multi-bandwidth Gaussian kernel) to fresh true samples,
    beside the MMD² between two independent true sample sets of the same size (the floor), with
    the share of samples within 0.1 of a mode centre and the number of modes holding ≥ 1% of them.

(b) MNIST Parzen-window log-likelihood (nats ± standard error; Goodfellow et al. 2014 protocol:
    σ chosen on the first 1,000 of training examples 50,000–60,000 from ``logspace(-1, 0, 10)``,
    mean over the MNIST test images) of
    * 10,000 training images used as "samples" (a reference: the estimator's value for perfect
      samples of this size),
    * the DAE chain of a DAE trained by denoising, and of the same DAE trained with walkback,
    * annealed Langevin with a :class:`NoiseConditionalScoreNet` trained by ``annealed_dsm_loss``,
    beside the published anchors (DBN 138, stacked CAE 121, deep GSN 214, GAN 225; GSN code ≈ 150
    for a walkback DAE). The models are trained on training examples 0–50,000 only. The DAE chain
    runs many chains in parallel from uniform noise, with a burn-in, and keeps thinned states; the
    reported values are the reconstruction means E[x | x̃] of those steps (the pictures of Bengio
    et al.); the chain itself moves by draws.

    The default mode fits ~20 minutes on two busy CPU cores: short training, and fewer annealed
    samples / steps than the protocol (stated in the output; fewer samples lower the estimate a
    lot, see the reference rows). ``--full``: 10,000 samples for every model, Song & Ermon's 100
    steps per level, longer training. ``--quick``: a smoke test of a few minutes.

Each model is saved as a run folder (``runs/sampling/<mode>/<name>/model`` + ``config.json``), so
``daekit sample`` and ``daekit evaluate-samples`` work on it. Sample grids go to
``docs/images/samples_chain.png`` and ``docs/images/samples_annealed.png`` (default and full modes).
Prints a table and appends one JSON line to ``benchmarks/results/sampling.jsonl``.

    python benchmarks/sampling.py --quick
    python benchmarks/sampling.py               # ~20 min on two cores
    python benchmarks/sampling.py --full
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from daekit import DAE, DenoisingObjective, TrainConfig, fit
from daekit.corruption import make_corruption
from daekit.datasets.toy import make_toy
from daekit.metrics import mmd, parzen_protocol
from daekit.models.registry import save_model
from daekit.models.score_networks import NoiseConditionalScoreNet, ScoreNet
from daekit.objectives.walkback import WalkbackObjective
from daekit.sampling import annealed_langevin, collect_chain_samples, dae_chain, langevin
from daekit.score import ScoreObjective, annealed_dsm_loss, geometric_sigmas
from daekit.utils.atomic import write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sampling.jsonl"
IMAGES = ROOT / "docs" / "images"

ANCHORS = [
    ("DBN (Bengio et al. 2013)", 138, 2.0),
    ("stacked CAE (Bengio et al. 2013)", 121, 1.6),
    ("deep GSN (Bengio et al. 2014)", 214, 1.1),
    ("GAN (Goodfellow et al. 2014)", 225, 2.0),
]

SETTINGS = {
    # toy: samples per set, ScoreNet/DAE training epochs over 20,000 draws
    # mnist: training examples, DAE epochs, walkback k, NCSN epochs, chain samples, annealed samples,
    #        annealed steps per level, test images
    "quick": dict(
        toy_n=500,
        toy_epochs=10,
        train_size=10_000,
        dae_epochs=1,
        walkback_k=2,
        ncsn_epochs=1,
        chain_samples=2_000,
        annealed_samples=500,
        steps_per_level=10,
        n_test=1_000,
    ),
    "default": dict(
        toy_n=2_000,
        toy_epochs=40,
        train_size=50_000,
        dae_epochs=3,
        walkback_k=2,
        ncsn_epochs=3,
        chain_samples=10_000,
        annealed_samples=2_000,
        steps_per_level=20,
        n_test=10_000,
    ),
    "full": dict(
        toy_n=5_000,
        toy_epochs=80,
        train_size=50_000,
        dae_epochs=20,
        walkback_k=3,
        ncsn_epochs=30,
        chain_samples=10_000,
        annealed_samples=10_000,
        steps_per_level=100,
        n_test=10_000,
    ),
}

# the MNIST models
DAE_HIDDEN = 500
DAE_CORRUPTION = "saltpepper:0.5"
CHAINS, BURN_IN, THIN = 10_000, 50, 1  # 10,000 independent chains, one state each after 50 steps
NCSN_HIDDEN, NCSN_ACTIVATION = (2048,), "silu"
NCSN_SIGMAS = geometric_sigmas(1.0, 0.01, 10).tolist()  # Song & Ermon (2019), MNIST
NCSN_EPS = 2e-5
MNIST_MODELS = ("dae", "dae_walkback", "ncsn")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smoke test: tiny training, few samples")
    mode.add_argument(
        "--full", action="store_true", help="the full protocol: 10,000 samples everywhere, longer training"
    )
    p.add_argument("--skip-toy", action="store_true")
    p.add_argument("--skip-mnist", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--mnist-models",
        default=",".join(MNIST_MODELS),
        help=f"comma-separated MNIST models to train and score (default: all of {','.join(MNIST_MODELS)})",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--out-root", default=str(ROOT / "runs" / "sampling"))
    p.add_argument("--no-images", action="store_true", help="do not write docs/images/samples_*.png")
    args = p.parse_args(argv)
    args.mode = "quick" if args.quick else "full" if args.full else "default"
    args.mnist_models = [m for m in args.mnist_models.split(",") if m]
    unknown = sorted(set(args.mnist_models) - set(MNIST_MODELS))
    if unknown or not args.mnist_models:
        p.error(
            f"--mnist-models: expected a comma-separated subset of {','.join(MNIST_MODELS)}, got {unknown or 'none'}"
        )
    return args


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------- (a) toy
def mode_stats(x: torch.Tensor, means: torch.Tensor) -> tuple[float, int]:
    d = torch.cdist(x.to(torch.float64), means)
    near = d.min(1).values < 0.1
    counts = torch.bincount(d.argmin(1)[near], minlength=len(means))
    return float(near.float().mean()), int((counts >= 0.01 * len(x)).sum())


def toy_part(s: dict, seed: int, out_root: Path) -> list[dict]:
    gm = make_toy("8gaussians")
    n, g = s["toy_n"], gen(seed)
    truth = gm.sample(n, g, dtype=torch.float64)
    floor = mmd(gm.sample(n, g, dtype=torch.float64), gm.sample(n, g, dtype=torch.float64))
    x0 = torch.rand(n, 2, generator=g, dtype=torch.float64) * 8 - 4  # uniform on [−4, 4]²
    train = gm.sample(20_000, g).numpy()
    rows: list[dict] = []

    def add(name, samples, seconds, train_seconds=None):
        near, modes = mode_stats(samples, gm.means)
        rows.append(
            {
                "sampler": name,
                "mmd2": mmd(samples, truth),
                "near_mode": near,
                "modes": modes,
                "sample_seconds": seconds,
                "train_seconds": train_seconds,
            }
        )

    # Langevin on the exact score of q_σ, σ = 0.01 (q_σ has component std √(0.02² + 0.01²) = 0.022)
    sig = 0.01
    exact = gm.smoothed(sig)
    out, t = timed(lambda: langevin(exact.score, x0, 1e-4, 1000, generator=gen(seed + 1)))
    add(f"Langevin, exact score of q_σ (σ={sig}), ε=1e-4, 1000 steps", out, t)

    # annealed Langevin on the exact scores
    sigmas = geometric_sigmas(2.0, sig, 10).tolist()
    out, t = timed(
        lambda: annealed_langevin(
            lambda x, sg: gm.smoothed(sg).score(x), sigmas, x0, 5e-5, 100, generator=gen(seed + 2)
        )
    )
    add(f"annealed Langevin, exact scores, σ 2→{sig} (10 levels), ε=5e-5, 100/level", out, t)

    # a ScoreNet trained by DSM at σ = 0.1 (output scale 1/σ, Song & Ermon 2020 §3.4)
    dsm_sigma = 0.1
    net = ScoreNet(2, hidden=(128, 128), output_scale=1 / dsm_sigma, generator=gen(seed))
    hist, t_train = timed(
        lambda: fit(
            net,
            ScoreObjective("dsm", dsm_sigma),
            train,
            TrainConfig(epochs=s["toy_epochs"], batch_size=256, lr=1e-3, optimizer="adam", seed=seed, verbose=0),
        )
    )
    step = 0.1 * dsm_sigma**2
    out, t = timed(lambda: langevin(net, x0.float(), step, 1000, generator=gen(seed + 3)))
    add(f"Langevin, DSM ScoreNet (σ={dsm_sigma}), ε={step:g}, 1000 steps", out, t, t_train)
    with torch.no_grad():
        denoised = out + dsm_sigma**2 * net(out)
    add("  … then one Tweedie step x + σ²·s(x)", denoised, t, t_train)
    save_model(out_root / "toy_scorenet" / "model", net)
    write_json(out_root / "toy_scorenet" / "config.json", {"sigma": dsm_sigma, "data_used": "8gaussians"})

    # a DAE trained with Gaussian corruption: 2 → 64 sigmoid → 2, untied, Gaussian reconstruction
    dae_sigma = 0.25
    dae = DAE(2, 64, tied_weights=False, reconstruction="gaussian", generator=gen(seed))
    corruption = make_corruption(f"gaussian:{dae_sigma}")
    _, t_train = timed(
        lambda: fit(
            dae,
            DenoisingObjective(corruption),
            train,
            TrainConfig(epochs=5 * s["toy_epochs"], batch_size=256, lr=1e-2, optimizer="adam", seed=seed, verbose=0),
        )
    )
    out, t = timed(lambda: dae_chain(dae, corruption, x0.float(), 200, sample=False, generator=gen(seed + 4)))
    add(f"DAE chain (σ={dae_sigma}), moving by reconstruction means, 200 steps", out, t, t_train)
    out, t = timed(lambda: dae_chain(dae, corruption, x0.float(), 200, sample=True, generator=gen(seed + 4)))
    add("DAE chain, moving by draws of its N(r(x̃), I) reconstruction", out, t, t_train)
    save_model(out_root / "toy_dae" / "model", dae)
    write_json(out_root / "toy_dae" / "config.json", {"corruption": corruption.spec, "data_used": "8gaussians"})

    rows.append(
        {
            "sampler": "floor: two independent true sample sets",
            "mmd2": floor,
            **dict(zip(("near_mode", "modes"), mode_stats(truth, gm.means))),
            "sample_seconds": None,
            "train_seconds": None,
        }
    )
    return rows


def toy_table(rows: list[dict], n: int) -> str:
    head = f"{'sampler':<72} {'MMD²':>9} {'≤0.1 of mode':>12} {'modes':>5} {'train s':>7} {'sample s':>8}"
    lines = [
        f"(a) 8gaussians, {n} samples each; MMD² (unbiased, bandwidths 0.05–2) to {n} fresh true samples",
        head,
        "-" * len(head),
    ]
    for r in rows:
        tr = f"{r['train_seconds']:.0f}" if r["train_seconds"] is not None else "-"
        sa = f"{r['sample_seconds']:.1f}" if r["sample_seconds"] is not None else "-"
        lines.append(
            f"{r['sampler']:<72} {r['mmd2']:>9.5f} {100 * r['near_mode']:>11.1f}% {r['modes']:>5} {tr:>7} {sa:>8}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- (b) MNIST
def parzen(samples, valid, test) -> dict:
    r = parzen_protocol(samples, valid, test)
    return {
        "parzen": r.mean,
        "se": r.std_error,
        "parzen_sigma": r.sigma,
        "n_samples": r.n_samples,
        "parzen_seconds": r.seconds,
    }


def save_grid(samples: torch.Tensor, path: Path) -> None:
    from daekit.viz import new_figure, save_figure, style, tile_images

    tiles = tile_images(np.clip(samples[:100].numpy(), 0, 1), (28, 28), n_cols=10, scale_each=False)
    fig = new_figure(3, 3)
    with style():
        ax = fig.add_subplot()
        ax.imshow(tiles, vmin=0, vmax=1)
        ax.set_axis_off()
    save_figure(fig, path, dpi=100)


def mnist_part(s: dict, seed: int, out_root: Path, images: bool, models=MNIST_MODELS) -> list[dict]:
    from daekit.datasets import load_mnist

    x_train, _, x_test, _ = load_mnist(download=False, verbose=False)
    train = x_train[: s["train_size"]]
    valid = x_train[50_000:51_000]
    test = x_test[: s["n_test"]]
    rows: list[dict] = []

    ref = parzen(x_train[:10_000], valid, test)
    rows.append({"model": "reference: 10,000 training images as samples", **ref})
    if s["annealed_samples"] < 10_000:
        ref2 = parzen(x_train[: s["annealed_samples"]], valid, test)
        rows.append({"model": f"reference: {s['annealed_samples']:,} training images as samples", **ref2})

    corruption = make_corruption(DAE_CORRUPTION)
    chain_grid, best_chain = None, -math.inf
    for name, k in (("dae", 1), ("dae_walkback", s["walkback_k"])):
        if name not in models:
            continue
        model = DAE(784, DAE_HIDDEN, tied_weights=False, generator=gen(seed))
        objective = DenoisingObjective(corruption) if k == 1 else WalkbackObjective(corruption, k)
        _, t_train = timed(
            lambda: fit(
                model,
                objective,
                train,
                TrainConfig(epochs=s["dae_epochs"], batch_size=100, lr=1e-3, optimizer="adam", seed=seed, verbose=0),
            )
        )
        model.eval()
        run = out_root / name
        save_model(run / "model", model, data="mnist")
        write_json(run / "config.json", {"corruption": corruption.spec, "data_used": "mnist", "walkback_k": k})
        g = gen(seed + 10)
        x0 = torch.rand(CHAINS, 784, generator=g)
        samples, t_sample = timed(
            lambda: collect_chain_samples(
                model, corruption, x0, s["chain_samples"], burn_in=BURN_IN, thin=THIN, generator=g, return_mean=True
            )
        )
        label = (
            f"DAE chain, {'denoising' if k == 1 else f'walkback k={k}'} training "
            f"({DAE_HIDDEN} sigmoid, {corruption.spec})"
        )
        rows.append(
            {
                "model": label,
                "train_seconds": t_train,
                "sample_seconds": t_sample,
                "epochs": s["dae_epochs"],
                **parzen(samples, valid, test),
            }
        )
        print(f"  {label}: {rows[-1]['parzen']:.1f} ± {rows[-1]['se']:.1f}", flush=True)
        if chain_grid is None or rows[-1]["parzen"] > best_chain:
            chain_grid, best_chain = samples[-100:], rows[-1]["parzen"]
        if s["annealed_samples"] < len(samples):
            sub = parzen(samples[: s["annealed_samples"]], valid, test)
            rows.append({"model": f"  … its first {s['annealed_samples']:,} samples", **sub})

    if "ncsn" not in models:
        if images and chain_grid is not None:
            save_grid(chain_grid, IMAGES / "samples_chain.png")
        return rows
    ncsn = NoiseConditionalScoreNet(784, hidden=NCSN_HIDDEN, activation=NCSN_ACTIVATION, generator=gen(seed))
    _, t_train = timed(
        lambda: fit(
            ncsn,
            ScoreObjective("annealed", sigmas=NCSN_SIGMAS),
            train,
            TrainConfig(epochs=s["ncsn_epochs"], batch_size=128, lr=1e-3, optimizer="adam", seed=seed, verbose=0),
        )
    )
    ncsn.eval()
    # the σ²-weighted DSM loss per level on 1,000 held-out images (½‖σ s + ε‖²; s ≡ 0 gives d/2 = 392)
    xv = torch.as_tensor(valid)
    with torch.no_grad():
        per_level = [
            float(
                annealed_dsm_loss(
                    ncsn, xv, NCSN_SIGMAS, generator=gen(seed + 30), sigma_indices=torch.full((len(xv),), i)
                )
            )
            for i in range(len(NCSN_SIGMAS))
        ]
    run = out_root / "ncsn"
    save_model(run / "model", ncsn)
    write_json(run / "config.json", {"sigmas": NCSN_SIGMAS, "data_used": "mnist"})
    g = gen(seed + 20)

    def draw_annealed():
        parts = []
        for start in range(0, s["annealed_samples"], 1000):
            x0 = torch.rand(min(1000, s["annealed_samples"] - start), 784, generator=g)
            parts.append(
                annealed_langevin(
                    ncsn, NCSN_SIGMAS, x0, NCSN_EPS, s["steps_per_level"], generator=g, final_denoise=True
                )
            )
        return torch.cat(parts)

    samples, t_sample = timed(draw_annealed)
    label = (
        f"annealed Langevin, NCSN {list(NCSN_HIDDEN)} {NCSN_ACTIVATION} (σ 1→0.01, 10 levels, {s['steps_per_level']}/level, "
        f"ε={NCSN_EPS:g}, final denoise)"
    )
    rows.append(
        {
            "model": label,
            "train_seconds": t_train,
            "sample_seconds": t_sample,
            "epochs": s["ncsn_epochs"],
            "ncsn_valid_loss_per_level": per_level,
            **parzen(samples, valid, test),
        }
    )
    if images:
        if chain_grid is not None:
            save_grid(chain_grid, IMAGES / "samples_chain.png")
        save_grid(samples[:100], IMAGES / "samples_annealed.png")
    return rows


def mnist_table(rows: list[dict], s: dict) -> str:
    head = f"{'model':<96} {'samples':>7} {'Parzen (nats)':>15} {'σ':>5} {'train s':>7} {'sample s':>8}"
    lines = [
        f"(b) MNIST Parzen log-likelihood on {s['n_test']:,} test images "
        f"(models trained on {s['train_size']:,} training images)",
        head,
        "-" * len(head),
    ]
    for r in rows:
        tr = f"{r['train_seconds']:.0f}" if r.get("train_seconds") is not None else "-"
        sa = f"{r['sample_seconds']:.0f}" if r.get("sample_seconds") is not None else "-"
        lines.append(
            f"{r['model']:<96} {r['n_samples']:>7} {r['parzen']:>8.1f} ± {r['se']:<4.1f} "
            f"{r['parzen_sigma']:>5.3f} {tr:>7} {sa:>8}"
        )
    for r in rows:
        if "ncsn_valid_loss_per_level" in r:
            lines.append(
                "NCSN held-out loss per level σ 1→0.01 (½‖σ·s + ε‖², 392 = no better than s ≡ 0): "
                + " ".join(f"{v:.0f}" for v in r["ncsn_valid_loss_per_level"])
            )
    for name, v, se in ANCHORS:
        lines.append(f"{'published: ' + name:<96} {10000:>7} {v:>8.0f} ± {se:<4.1f}")
    lines.append(f"{'published: GSN code, walkback DAE (approx.)':<96} {10000:>7} {'~150':>8}")
    if s["annealed_samples"] < 10_000 or s["n_test"] < 10_000:
        lines.append(
            f"NOT the full protocol for every row: annealed Langevin used {s['annealed_samples']:,} samples "
            f"(the protocol: 10,000), test images {s['n_test']:,}. Fewer samples lower the Parzen estimate "
            "sharply: compare with the reference and '… first N samples' rows of the same size. "
            "--full runs the protocol."
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    s = SETTINGS[args.mode]
    out_root = Path(args.out_root) / args.mode
    t0 = time.perf_counter()
    record = {
        "benchmark": "sampling",
        "mode": args.mode,
        "settings": s,
        "seed": args.seed,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(),
        },
        "command": " ".join(["python", "benchmarks/sampling.py", *(argv if argv is not None else sys.argv[1:])]),
    }
    if not args.skip_toy:
        t = time.perf_counter()
        rows = toy_part(s, args.seed, out_root)
        print(toy_table(rows, s["toy_n"]))
        print(f"(toy part: {time.perf_counter() - t:.0f} s)\n", flush=True)
        record["toy"] = rows
    if not args.skip_mnist:
        t = time.perf_counter()
        rows = mnist_part(
            s, args.seed, out_root, images=not args.no_images and args.mode != "quick", models=args.mnist_models
        )
        mnist_seconds = time.perf_counter() - t
        print(mnist_table(rows, s))
        print(f"(MNIST part: {mnist_seconds:.0f} s)")
        record["mnist"] = rows
        record["mnist_seconds"] = mnist_seconds
    record["wall_seconds"] = time.perf_counter() - t0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
    print(f"appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
