"""``daekit score train``: the flags of :class:`daekit.runs.score.ScoreRunConfig` (same names
with dashes); the run itself is :func:`daekit.runs.score.train_score_run`."""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from ._args import int_list, non_negative_int, positive_float, positive_int

logger = logging.getLogger(__name__)


def config_from_args(args: argparse.Namespace):
    """The :class:`~daekit.runs.score.ScoreRunConfig` the flags describe."""
    from dataclasses import fields

    from ..runs.score import ScoreRunConfig

    return ScoreRunConfig(**{f.name: getattr(args, f.name) for f in fields(ScoreRunConfig)})


def train_score_run(args: argparse.Namespace):
    """The run the flags ask for (:func:`daekit.runs.score.train_score_run`); returns result.json's content."""
    from ..runs.score import train_score_run as run_score

    return run_score(config_from_args(args), args.out, resume=args.resume, overwrite=args.overwrite)


def run_unet(args: argparse.Namespace) -> int:
    """``daekit score train --data mnist --model unet``: an EDM-preconditioned U-Net denoiser
    (:func:`daekit.runs.denoiser.train_mnist_unet_run`). ``--n-train``, ``--batch-size`` and ``--lr``
    take the U-Net's defaults (50,000 images, 128, 1e-3) unless given."""
    from ..runs.denoiser import train_mnist_unet_run
    from ..runs.folder import RunFolder

    given = {a.split("=")[0] for a in getattr(args, "argv", [])}
    n_train = args.n_train if "--n-train" in given else 50_000
    batch_size = args.batch_size if "--batch-size" in given else 128
    lr = args.lr if "--lr" in given else 1e-3
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    previous = RunFolder(out).holds_run()
    if previous and not args.overwrite:
        raise ValueError(
            f"--out {out} already holds a run ({', '.join(previous)}); choose a new folder or pass --overwrite"
        )
    for name in previous:
        shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    result = train_mnist_unet_run(
        out,
        minutes=args.minutes,
        epochs=args.epochs,
        channels=args.channels,
        channel_mult=args.channel_mult,
        blocks_per_level=args.blocks,
        batch_size=batch_size,
        lr=lr,
        precision=args.precision,
        seed=args.seed,
        n_train=min(n_train, 50_000),
        device=args.device,
        verbose=args.verbose,
    )
    logger.info(
        "U-Net denoiser (%s parameters): %d epoch(s), %s images in %.0f s; wrote %s/",
        f"{result['parameters']:,}",
        result["epochs_run"],
        f"{result['images_seen']:,}",
        result["train_seconds"],
        out,
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """``daekit score train``: returns the exit code."""
    if args.model == "unet" or args.data == "mnist":
        if args.model != "unet" or args.data != "mnist":
            raise ValueError(
                "--model unet trains on images (--data mnist); the MLP score networks train on the toy "
                f"densities (got --model {args.model} --data {args.data})"
            )
        return run_unet(args)
    result = train_score_run(args)
    if args.verbose:
        print(
            f"{result['data']}, sigma={result['sigma']:g}, {result['objective']}: relative Fisher divergence "
            f"{result['relative_fisher_divergence']:.4g} (train {result['train_seconds']:.1f} s)"
        )
        out = Path(args.out)
        print(f"wrote {out}/:")
        for name in ("config.json", "metrics.jsonl", "model", "result.json", "score_field.png"):
            print(f"  {out / name}")
    return 0


def add_parser(subparsers) -> None:
    """Add ``score`` (with the sub-subcommand ``train``) to the ``daekit`` parser."""
    from ..datasets.toy import TOY_DENSITIES
    from ..models.score_networks import SCORE_ACTIVATIONS
    from ..runs.score import OBJECTIVES, ScoreRunConfig

    d = ScoreRunConfig()

    p = subparsers.add_parser(
        "score",
        help="score matching on toy 2-D densities",
        description="Score matching (DSM, ISM, ESM, annealed DSM) on toy densities with exact scores.",
    )
    sub = p.add_subparsers(dest="score_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    t = sub.add_parser(
        "train",
        help="train a score network on a toy density",
        description="Train a score network on samples of a toy density and compare it with the exact "
        "smoothed score; writes config.json, metrics.jsonl, model/, result.json and "
        "score_field.png to --out.",
    )
    t.add_argument(
        "--data",
        default=d.data,
        choices=sorted(TOY_DENSITIES) + ["mnist"],
        help="toy density, or mnist with --model unet (default %(default)s)",
    )
    t.add_argument(
        "--objective", default=d.objective, choices=OBJECTIVES, help="training objective (default %(default)s)"
    )
    t.add_argument("--sigma", type=positive_float, default=d.sigma, help="noise level σ of q_σ (default %(default)s)")
    t.add_argument(
        "--epochs", type=positive_int, default=d.epochs, help="passes over --n-train samples (default %(default)s)"
    )
    t.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    t.add_argument("--seed", type=non_negative_int, default=d.seed)
    t.add_argument("--verbose", type=int, default=d.verbose, help="0: no progress output, 1: progress bars")
    t.add_argument("--quiet", dest="verbose", action="store_const", const=0, help="no progress output (--verbose 0)")
    t.add_argument("--n-train", type=positive_int, default=d.n_train, help="training samples (default %(default)s)")
    t.add_argument("--n-eval", type=positive_int, default=d.n_eval, help="fresh samples of q_σ for the metric")
    t.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    t.add_argument("--lr", type=positive_float, default=d.lr, help="Adam learning rate of the first phase")
    t.add_argument(
        "--hidden",
        type=int_list,
        default=list(d.hidden),
        help=f"hidden widths (default {','.join(map(str, d.hidden))})",
    )
    t.add_argument("--activation", default=d.activation, choices=sorted(SCORE_ACTIVATIONS))
    t.add_argument(
        "--fourier-features",
        type=non_negative_int,
        default=d.fourier_features,
        help="random Fourier features of x (0: plain MLP; default %(default)s)",
    )
    t.add_argument("--fourier-scale", type=positive_float, default=d.fourier_scale)
    t.add_argument("--trace", default=d.trace, choices=["exact", "hutchinson"], help="ISM divergence")
    t.add_argument("--n-probes", type=positive_int, default=d.n_probes, help="Hutchinson probes per example (ISM)")
    t.add_argument("--sigma-max", type=positive_float, default=d.sigma_max, help="largest σ of --objective annealed")
    t.add_argument("--levels", type=positive_int, default=d.levels, help="σ-levels of --objective annealed")
    t.add_argument("--device", default=d.device, help="cpu (default), auto, cuda, cuda:N")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its newest good checkpoints")
    u = t.add_argument_group("--model unet (--data mnist)")
    u.add_argument(
        "--model",
        default="mlp",
        choices=["mlp", "unet"],
        help="mlp: a score network on a toy density (default); unet: an EDM-preconditioned U-Net denoiser on MNIST",
    )
    u.add_argument(
        "--minutes",
        type=positive_float,
        default=None,
        help="wall-clock training budget in minutes (--epochs still caps the passes)",
    )
    u.add_argument("--channels", type=positive_int, default=32, help="width of the first level (default %(default)s)")
    u.add_argument("--channel-mult", type=int_list, default=[1, 2, 2], help="width factor per level (default 1,2,2)")
    u.add_argument("--blocks", type=positive_int, default=2, help="residual blocks per level (default %(default)s)")
    u.add_argument(
        "--precision",
        default="float32",
        choices=["float32", "bfloat16"],
        help="bfloat16: autocast matrix products (pays on CPUs with AMX/AVX512-BF16 and recent GPUs)",
    )
    t.set_defaults(func=run)
