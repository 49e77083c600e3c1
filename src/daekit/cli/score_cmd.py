"""``daekit score train``: the flags of :class:`daekit.runs.score.ScoreRunConfig` (same names
with dashes); the run itself is :func:`daekit.runs.score.train_score_run`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._args import int_list, non_negative_int, positive_float, positive_int

def config_from_args(args: argparse.Namespace):
    """The :class:`~daekit.runs.score.ScoreRunConfig` the flags describe."""
    from dataclasses import fields

    from ..runs.score import ScoreRunConfig

    return ScoreRunConfig(**{f.name: getattr(args, f.name) for f in fields(ScoreRunConfig)})


def train_score_run(args: argparse.Namespace):
    """The run the flags ask for (:func:`daekit.runs.score.train_score_run`); returns result.json's content."""
    from ..runs.score import train_score_run as run_score

    return run_score(config_from_args(args), args.out, resume=args.resume, overwrite=args.overwrite)


def run(args: argparse.Namespace) -> int:
    """``daekit score train``: returns the exit code."""
    result = train_score_run(args)
    if args.verbose:
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
    from ..models.score_networks import SCORE_ACTIVATIONS
    from ..runs.score import OBJECTIVES, ScoreRunConfig

    d = ScoreRunConfig()

    p = subparsers.add_parser("score", help="score matching on toy 2-D densities",
                              description="Score matching (DSM, ISM, ESM, annealed DSM) on toy densities with exact scores.")
    sub = p.add_subparsers(dest="score_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    t = sub.add_parser("train", help="train a score network on a toy density",
                       description="Train a score network on samples of a toy density and compare it with the exact "
                                   "smoothed score; writes config.json, metrics.jsonl, model/, result.json and "
                                   "score_field.png to --out.")
    t.add_argument("--data", default=d.data, choices=sorted(TOY_DENSITIES), help="toy density (default %(default)s)")
    t.add_argument("--objective", default=d.objective, choices=OBJECTIVES, help="training objective (default %(default)s)")
    t.add_argument("--sigma", type=positive_float, default=d.sigma, help="noise level σ of q_σ (default %(default)s)")
    t.add_argument("--epochs", type=positive_int, default=d.epochs, help="passes over --n-train samples (default %(default)s)")
    t.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    t.add_argument("--seed", type=non_negative_int, default=d.seed)
    t.add_argument("--verbose", type=int, default=d.verbose, help="0: no progress output, 1: progress bars")
    t.add_argument("--quiet", dest="verbose", action="store_const", const=0, help="no progress output (--verbose 0)")
    t.add_argument("--n-train", type=positive_int, default=d.n_train, help="training samples (default %(default)s)")
    t.add_argument("--n-eval", type=positive_int, default=d.n_eval, help="fresh samples of q_σ for the metric")
    t.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    t.add_argument("--lr", type=positive_float, default=d.lr, help="Adam learning rate of the first phase")
    t.add_argument("--hidden", type=int_list, default=list(d.hidden), help="hidden widths (default %s)" % ",".join(map(str, d.hidden)))
    t.add_argument("--activation", default=d.activation, choices=sorted(SCORE_ACTIVATIONS))
    t.add_argument("--fourier-features", type=non_negative_int, default=d.fourier_features,
                   help="random Fourier features of x (0: plain MLP; default %(default)s)")
    t.add_argument("--fourier-scale", type=positive_float, default=d.fourier_scale)
    t.add_argument("--trace", default=d.trace, choices=["exact", "hutchinson"], help="ISM divergence")
    t.add_argument("--n-probes", type=positive_int, default=d.n_probes, help="Hutchinson probes per example (ISM)")
    t.add_argument("--sigma-max", type=positive_float, default=d.sigma_max, help="largest σ of --objective annealed")
    t.add_argument("--levels", type=positive_int, default=d.levels, help="σ-levels of --objective annealed")
    t.add_argument("--device", default=d.device, help="cpu (default), auto, cuda, cuda:N")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its newest good checkpoints")
    t.set_defaults(func=run)
