"""``daekit demo``: the main job — a tied DAE on MNIST (or the embedded digits), with figures."""

from __future__ import annotations

import argparse

from ..runs.dae import DAERunConfig, train_dae_run
from ._args import print_result

DEMO_MNIST = DAERunConfig(data="mnist", hidden=500, corruption="masking:0.25", epochs=8, batch_size=20, lr=0.1)
DEMO_DIGITS = DAERunConfig(
    data="digits", hidden=100, corruption="masking:0.25", epochs=60, batch_size=20, lr=0.1, valid_size=200
)


def run(args: argparse.Namespace) -> int:
    from ..datasets.sources import load_dataset

    data = load_dataset("auto")
    base = DEMO_MNIST if data.name == "mnist" else DEMO_DIGITS
    config = DAERunConfig(**{**vars(base), "verbose": 0 if args.quiet else 1, "device": args.device})
    print(
        f"daekit demo: training a tied denoising autoencoder ({config.hidden} hidden units, {config.corruption}) "
        f"on {data.name} for {config.epochs} epochs"
    )
    result = train_dae_run(config, args.out, overwrite=True)  # the demo folder is replaced each time
    print_result(args.out, result)
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="train and evaluate a DAE on MNIST (or digits), write figures")
    p.add_argument("--out", default="runs/demo", help="run folder (default %(default)s)")
    p.add_argument("--device", default="auto")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)
