"""``daekit train``: train one denoising autoencoder into a run folder."""

from __future__ import annotations

import argparse

from ..runs import DAERunConfig, train_dae_run
from ._args import add_nproc_flag, launch_with_torchrun, positive_float, positive_int, print_result


def add_training_flags(p: argparse.ArgumentParser, defaults: DAERunConfig) -> None:
    p.add_argument("--data", default=defaults.data, help="mnist, digits, auto (MNIST if available) or a .npy/.npz file")
    p.add_argument("--hidden", type=positive_int, default=defaults.hidden, help="hidden units")
    p.add_argument("--corruption", default=defaults.corruption,
                   help="e.g. masking:0.25, gaussian:0.3, saltpepper:0.1, none (default %(default)s)")
    p.add_argument("--epochs", type=positive_int, default=defaults.epochs)
    p.add_argument("--batch-size", type=positive_int, default=defaults.batch_size)
    p.add_argument("--lr", type=positive_float, default=defaults.lr, help="learning rate")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=defaults.optimizer)
    p.add_argument("--momentum", type=float, default=defaults.momentum)
    p.add_argument("--untied", dest="tied", action="store_false", help="give the decoder its own weights")
    p.add_argument("--activation", default=defaults.activation, choices=["sigmoid", "tanh", "relu", "softplus", "linear"])
    p.add_argument("--reconstruction", default=defaults.reconstruction, choices=["auto", "bernoulli", "gaussian"])
    p.add_argument("--valid-size", type=int, default=defaults.valid_size, help="held-out training examples")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--device", default=defaults.device, help="auto, cpu, cuda, cuda:N")
    p.add_argument("--precision", default=defaults.precision, choices=["float32", "bfloat16"],
                   help="precision of the training steps' matrix products (bfloat16: float32 weights and updates)")
    p.add_argument("--no-probe", dest="probe", action="store_false", help="skip the linear-probe evaluation")
    p.add_argument("--keep-checkpoints", "--keep", dest="keep_checkpoints", type=positive_int,
                   default=defaults.keep_checkpoints, metavar="N",
                   help="newest checkpoints kept, so one damaged file never leaves none (default %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def config_from_args(args: argparse.Namespace) -> DAERunConfig:
    return DAERunConfig(data=args.data, hidden=args.hidden, corruption=args.corruption, epochs=args.epochs,
                        batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, momentum=args.momentum,
                        tied=args.tied, activation=args.activation, reconstruction=args.reconstruction,
                        valid_size=args.valid_size, seed=args.seed, device=args.device,
                        precision=args.precision, probe=args.probe, keep_checkpoints=args.keep_checkpoints,
                        verbose=0 if args.quiet else 1)


def run(args: argparse.Namespace) -> int:
    launched = launch_with_torchrun(args)
    if launched is not None:
        return launched
    result = train_dae_run(config_from_args(args), args.out, resume=args.resume)
    if "rank" not in result:  # rank 0 (or a single process) reports
        print_result(args.out, result)
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a denoising autoencoder",
                              description="Train a denoising autoencoder; writes checkpoints, metrics and figures to --out.")
    add_training_flags(p, DAERunConfig())
    p.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    add_nproc_flag(p)
    p.set_defaults(func=run)
