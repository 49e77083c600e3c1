"""``daekit score train``: fit a score network to a toy 2-D density and measure it against the
exact score.

The network (:class:`~daekit.score_networks.ScoreNet`, or a
:class:`~daekit.score_networks.NoiseConditionalScoreNet` for ``--objective annealed``) is trained
with :func:`daekit.train.fit` on samples of a :mod:`daekit.datasets.toy` density with one of the
objectives of :mod:`daekit.score`. All of them target the smoothed density q_σ = q * N(0, σ²I):
DSM directly, ISM and ESM on noisy samples x̃ = x + σε (ESM against the exact ∇ log q_σ), the
annealed objective over σ-levels from ``--sigma-max`` down to ``--sigma``. The learning rate is
decayed in three phases (lr for half of the epochs, lr/5 for a quarter, lr/25 for the rest).

Writes into ``--out``: ``config.json`` (the settings, with ``sigma``/``sigmas`` for
``daekit sample``), ``metrics.jsonl`` (per epoch, from fit), ``checkpoints/``, ``model/``,
``result.json`` (relative Fisher divergence E‖s − ∇log q_σ‖²/E‖∇log q_σ‖² on fresh samples of q_σ,
wall time) and ``score_field.png``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from ._args import int_list, non_negative_int, positive_float, positive_int

OBJECTIVES = ("dsm", "ism", "esm", "annealed")


def _phases(epochs: int, lr: float) -> list[tuple[str, int, float]]:
    """Three learning-rate phases: lr for half of the epochs, lr/5 for a quarter, lr/25 after."""
    first = max(1, epochs // 2)
    second = epochs // 4
    third = epochs - first - second
    return [(name, e, rate) for name, e, rate in (("train", first, lr), ("decay1", second, lr / 5),
                                                  ("decay2", third, lr / 25)) if e > 0]


def fit_in_phases(model, objective, x, epochs: int, lr: float, batch_size: int, seed: int = 0,
                  device: str = "cpu", run_dir=None, verbose: int = 0) -> list[float]:
    """Adam through :func:`daekit.train.fit` in the three learning-rate phases of :func:`_phases`
    (a fresh optimizer each phase); returns the per-epoch training losses."""
    from ..train import TrainConfig, fit

    losses: list[float] = []
    for i, (phase, n_epochs, rate) in enumerate(_phases(epochs, lr)):
        config = TrainConfig(epochs=n_epochs, batch_size=batch_size, lr=rate, optimizer="adam", seed=seed + i,
                             device=device, verbose=verbose)
        losses += fit(model, objective, (x,), config=config, run_dir=run_dir, phase=phase).train_loss
    return losses


def _extent(density) -> tuple[float, float, float, float]:
    means = density.means.numpy()
    spread = float(density.covs.diagonal(dim1=1, dim2=2).max().sqrt())
    lo = means.min(axis=0) - 3 * spread - 0.75
    hi = means.max(axis=0) + 3 * spread + 0.75
    cx, cy = (lo + hi) / 2
    half = float(max(hi - lo)) / 2
    return (cx - half, cx + half, cy - half, cy + half)


def _previous_run(out: Path, overwrite: bool) -> list[str]:
    """The files of an earlier run in ``out`` (to be replaced); ValueError unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    previous = [name for name in ("metrics.jsonl", "checkpoints", "result.json") if (out / name).exists()]
    if previous and not overwrite:
        raise ValueError(f"--out {out} already holds a run ({', '.join(previous)}); choose a new folder or pass --overwrite")
    return previous


def train_score_run(args: argparse.Namespace) -> dict[str, Any]:
    """Train as ``args`` say, write everything into ``args.out``; returns result.json's content."""
    import torch

    from ..checkpoint import save_model, write_json
    from ..datasets.toy import TOY_DENSITIES, make_toy
    from ..score import (
        NoiseConditionalScoreNet,
        ScoreNet,
        ScoreObjective,
        fisher_divergence,
        geometric_sigmas,
        relative_fisher_divergence,
    )
    from ..utils import resolve_device
    from ..viz_score import plot_score_field

    t_start = time.perf_counter()
    # ---- validate everything before writing anything
    if args.data not in TOY_DENSITIES:
        raise ValueError(f"--data must be one of {sorted(TOY_DENSITIES)}, got {args.data!r}")
    if args.objective not in OBJECTIVES:
        raise ValueError(f"--objective must be one of {list(OBJECTIVES)}, got {args.objective!r}")
    if args.objective == "annealed" and args.sigma_max < args.sigma:
        raise ValueError(f"--sigma-max ({args.sigma_max}) must be >= --sigma ({args.sigma})")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    out = Path(args.out)
    previous = _previous_run(out, args.overwrite)
    device = resolve_device(args.device)
    hidden = tuple(args.hidden)
    if not hidden:
        raise ValueError("--hidden must name at least one layer width, e.g. 128,128")

    density = make_toy(args.data)
    smoothed = density.smoothed(args.sigma)
    sigmas = (geometric_sigmas(args.sigma_max, args.sigma, args.levels).tolist()
              if args.objective == "annealed" else None)
    resolved = {
        "command": "score train", "data": args.data, "objective": args.objective, "sigma": args.sigma,
        "sigmas": sigmas, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "lr_phases": [[name, e, rate] for name, e, rate in _phases(args.epochs, args.lr)],
        "n_train": args.n_train, "n_eval": args.n_eval, "hidden": list(hidden), "activation": args.activation,
        "fourier_features": args.fourier_features, "fourier_scale": args.fourier_scale,
        "trace": args.trace, "n_probes": args.n_probes, "seed": args.seed, "device": str(device),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name in previous:  # --overwrite: stale checkpoints and metrics would mix with the new run's
        if (out / name).is_dir():
            shutil.rmtree(out / name)
        else:
            (out / name).unlink()
    write_json(out / "config.json", resolved)

    x_train = density.sample(args.n_train, torch.Generator().manual_seed(args.seed), dtype=torch.float32)
    init = torch.Generator().manual_seed(args.seed + 1)
    if args.objective == "annealed":
        model = NoiseConditionalScoreNet(2, hidden, args.activation, fourier_features=args.fourier_features,
                                         fourier_scale=args.fourier_scale, generator=init)
        objective = ScoreObjective("annealed", sigmas=sigmas)
    else:
        model = ScoreNet(2, hidden, args.activation, output_scale=1.0 / args.sigma,
                         fourier_features=args.fourier_features, fourier_scale=args.fourier_scale, generator=init)
        objective = ScoreObjective(args.objective, args.sigma, true_score=smoothed.score, trace=args.trace,
                                   n_probes=args.n_probes)

    t_train = time.perf_counter()
    losses = fit_in_phases(model, objective, x_train, args.epochs, args.lr, args.batch_size, args.seed,
                           device=str(device), run_dir=out, verbose=0 if args.quiet else 1)
    train_seconds = time.perf_counter() - t_train
    model.eval()
    model.cpu()
    save_model(out / "model", model, data=args.data)

    score_fn = model.at(args.sigma) if args.objective == "annealed" else model
    x_eval = smoothed.sample(args.n_eval, torch.Generator().manual_seed(args.seed + 2), dtype=torch.float32)
    rel = relative_fisher_divergence(score_fn, smoothed.score, x_eval)
    fisher = fisher_divergence(score_fn, smoothed.score, x_eval)
    plot_score_field(score_fn, smoothed.score, smoothed.prob, out / "score_field.png", extent=_extent(density),
                     title=f"{args.data}, σ = {args.sigma:g}, {args.objective.upper()}: "
                           f"relative Fisher divergence {rel:.3g}",
                     labels=("exact ∇ log q_σ", f"learned s_θ ({args.objective})"))
    result = {
        "data": args.data, "objective": args.objective, "sigma": args.sigma,
        "relative_fisher_divergence": rel, "fisher_divergence": fisher, "n_eval": args.n_eval,
        "epochs": len(losses), "final_train_loss": losses[-1] if losses else None,
        "train_seconds": train_seconds, "total_seconds": time.perf_counter() - t_start,
    }
    write_json(out / "result.json", result)
    return result


def run_unet(args: argparse.Namespace) -> int:
    """``daekit score train --data mnist --model unet``: an EDM-preconditioned U-Net denoiser
    (:func:`daekit.edm_training.train_mnist_unet_run`)."""
    from ..edm_training import train_mnist_unet_run

    if args.data != "mnist":
        raise ValueError(f"--model unet trains on images: use --data mnist (got {args.data!r})")
    out = Path(args.out)
    previous = _previous_run(out, args.overwrite)
    for name in previous:
        shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    result = train_mnist_unet_run(out, minutes=args.minutes, epochs=args.epochs, channels=args.channels,
                                  channel_mult=args.channel_mult, blocks_per_level=args.blocks, batch_size=args.batch_size,
                                  lr=args.lr, precision=args.precision, seed=args.seed,
                                  n_train=min(args.n_train, 50_000), device=args.device, verbose=0 if args.quiet else 1)
    if not args.quiet:
        print(f"U-Net denoiser ({result['parameters']:,} parameters): {result['epochs_run']} epoch(s), "
              f"{result['images_seen']:,} images in {result['train_seconds']:.0f} s; wrote {out}/")
    return 0


def run(args: argparse.Namespace) -> int:
    """``daekit score train``: returns the exit code."""
    unet = args.model == "unet"
    args.n_train = args.n_train or (50_000 if unet else 20_000)
    args.batch_size = args.batch_size or (128 if unet else 512)
    args.lr = args.lr or (1e-3 if unet else 3e-3)
    if unet:
        return run_unet(args)
    if args.data == "mnist":
        raise ValueError("--data mnist needs --model unet (the MLP score networks train on the toy densities)")
    result = train_score_run(args)
    if not args.quiet:
        print(f"{result['data']}, sigma={result['sigma']:g}, {result['objective']}: relative Fisher divergence "
              f"{result['relative_fisher_divergence']:.4g} (train {result['train_seconds']:.1f} s)")
        out = Path(args.out)
        print(f"wrote {out}/:")
        for name in ("config.json", "metrics.jsonl", "model", "result.json", "score_field.png"):
            print(f"  {out / name}")
    return 0


def add_parser(subparsers) -> None:
    """Add ``score`` (with the sub-subcommand ``train``) to the ``daekit`` parser."""
    from ..datasets.toy import TOY_DENSITIES
    from ..score_networks import SCORE_ACTIVATIONS

    p = subparsers.add_parser("score", help="score matching on toy 2-D densities",
                              description="Score matching (DSM, ISM, ESM, annealed DSM) on toy densities with exact scores.")
    sub = p.add_subparsers(dest="score_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    t = sub.add_parser("train", help="train a score network on a toy density",
                       description="Train a score network on samples of a toy density and compare it with the exact "
                                   "smoothed score; writes config.json, metrics.jsonl, model/, result.json and "
                                   "score_field.png to --out.")
    t.add_argument("--data", default="8gaussians", choices=sorted(TOY_DENSITIES) + ["mnist"],
                   help="toy density, or mnist for --model unet (default %(default)s)")
    t.add_argument("--model", default="mlp", choices=["mlp", "unet"],
                   help="mlp: a score network on a toy density (default); unet: an EDM-preconditioned U-Net "
                        "denoiser on images")
    t.add_argument("--objective", default="dsm", choices=OBJECTIVES, help="training objective (default %(default)s)")
    t.add_argument("--sigma", type=positive_float, default=0.1, help="noise level σ of q_σ (default %(default)s)")
    t.add_argument("--epochs", type=positive_int, default=50, help="passes over --n-train samples (default %(default)s)")
    t.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    t.add_argument("--seed", type=non_negative_int, default=0)
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--n-train", type=positive_int, default=None,
                   help="training samples (default 20000; mnist: the first 50000 training images)")
    t.add_argument("--n-eval", type=positive_int, default=20000, help="fresh samples of q_σ for the metric")
    t.add_argument("--batch-size", type=positive_int, default=None, help="default 512 (unet: 128)")
    t.add_argument("--lr", type=positive_float, default=None,
                   help="Adam learning rate (of the first phase; default 3e-3, unet: 1e-3 constant)")
    t.add_argument("--hidden", type=int_list, default=[128, 128], help="hidden widths (default 128,128)")
    t.add_argument("--activation", default="silu", choices=sorted(SCORE_ACTIVATIONS))
    t.add_argument("--fourier-features", type=non_negative_int, default=64,
                   help="random Fourier features of x (0: plain MLP; default %(default)s)")
    t.add_argument("--fourier-scale", type=positive_float, default=1.0)
    t.add_argument("--trace", default="exact", choices=["exact", "hutchinson"], help="ISM divergence")
    t.add_argument("--n-probes", type=positive_int, default=1, help="Hutchinson probes per example (ISM)")
    t.add_argument("--sigma-max", type=positive_float, default=1.0, help="largest σ of --objective annealed")
    t.add_argument("--levels", type=positive_int, default=10, help="σ-levels of --objective annealed")
    t.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    u = t.add_argument_group("--model unet")
    u.add_argument("--minutes", type=positive_float, default=None, help="wall-clock training budget in minutes "
                   "(--epochs still caps the passes)")
    u.add_argument("--channels", type=positive_int, default=32, help="width of the first level (default %(default)s)")
    u.add_argument("--channel-mult", type=int_list, default=[1, 2, 2], help="width factor per level (default 1,2,2)")
    u.add_argument("--blocks", type=positive_int, default=2, help="residual blocks per level (default %(default)s)")
    u.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                   help="bfloat16: autocast matrix products (pays on CPUs with AMX/AVX512-BF16 and recent GPUs)")
    t.set_defaults(func=run)
