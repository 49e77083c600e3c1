"""``daekit train``: train one denoising autoencoder into a run folder."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..runs.dae import DAERunConfig, train_dae_run
from ._args import add_nproc_flag, launch_with_torchrun, positive_float, positive_int, print_result


def add_training_flags(p: argparse.ArgumentParser, defaults: DAERunConfig) -> None:
    p.add_argument("--data", default=defaults.data, help="mnist, digits, auto (MNIST if available) or a .npy/.npz file")
    p.add_argument("--hidden", type=positive_int, default=defaults.hidden, help="hidden units")
    p.add_argument(
        "--corruption",
        default=defaults.corruption,
        help="e.g. masking:0.25, gaussian:0.3, saltpepper:0.1, none (default %(default)s)",
    )
    p.add_argument("--epochs", type=positive_int, default=defaults.epochs)
    p.add_argument("--batch-size", type=positive_int, default=defaults.batch_size)
    p.add_argument("--lr", type=positive_float, default=defaults.lr, help="learning rate")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=defaults.optimizer)
    p.add_argument("--momentum", type=float, default=defaults.momentum)
    p.add_argument(
        "--tied",
        action=argparse.BooleanOptionalAction,
        default=defaults.tied,
        help="decoder weights W' = Wᵀ (--no-tied or --untied: its own weights)",
    )
    p.add_argument("--untied", dest="tied", action="store_false", help=argparse.SUPPRESS)
    p.add_argument(
        "--activation", default=defaults.activation, choices=["sigmoid", "tanh", "relu", "softplus", "linear"]
    )
    p.add_argument("--reconstruction", default=defaults.reconstruction, choices=["auto", "bernoulli", "gaussian"])
    p.add_argument("--valid-size", type=int, default=defaults.valid_size, help="held-out training examples")
    p.add_argument(
        "--early-stopping",
        action="store_true",
        default=defaults.early_stopping,
        help="stop when the loss on the --valid-size held-out examples has not improved for 10 epochs",
    )
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--device", default=defaults.device, help="auto, cpu, cuda, cuda:N")
    p.add_argument(
        "--precision",
        default=defaults.precision,
        choices=["float32", "bfloat16"],
        help="precision of the training steps' matrix products (bfloat16: float32 weights and updates)",
    )
    p.add_argument(
        "--probe",
        action=argparse.BooleanOptionalAction,
        default=defaults.probe,
        help="linear-probe evaluation of the hidden code (--no-probe: skip it)",
    )
    p.add_argument(
        "--probe-size",
        type=positive_int,
        default=defaults.probe_size,
        help="training examples the linear probe is fitted on (default %(default)s)",
    )
    p.add_argument(
        "--keep-checkpoints",
        "--keep",
        dest="keep_checkpoints",
        type=positive_int,
        default=defaults.keep_checkpoints,
        metavar="N",
        help="newest checkpoints kept, so one damaged file never leaves none (default %(default)s)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--verbose", type=int, default=defaults.verbose, help="0: no progress output, 1: progress bars")
    p.add_argument("--quiet", dest="verbose", action="store_const", const=0, help="no progress output (--verbose 0)")


def config_from_args(args: argparse.Namespace) -> DAERunConfig:
    """The :class:`DAERunConfig` of the parsed flags (each field's flag has its name)."""
    return DAERunConfig(**{f.name: getattr(args, f.name) for f in fields(DAERunConfig)})


def run(args: argparse.Namespace) -> int:
    launched = launch_with_torchrun(args)
    if launched is not None:
        return launched
    result = train_dae_run(config_from_args(args), args.out, resume=args.resume)
    if "rank" not in result:  # rank 0 (or a single process) reports
        print_result(args.out, result)
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a denoising autoencoder",
        description="Train a denoising autoencoder; writes checkpoints, metrics and figures to --out.",
    )
    add_training_flags(p, DAERunConfig())
    p.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    add_nproc_flag(p)
    p.set_defaults(func=run)
