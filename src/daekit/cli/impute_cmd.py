"""``daekit impute``: fill the missing entries of a table with a denoising autoencoder."""

from __future__ import annotations

import argparse

from ._args import positive_int
from ._tables import read_table, write_table


def run(args: argparse.Namespace) -> int:
    from ..estimators import DenoisingImputer

    df = read_table(args.data, args.categorical, args.numeric)
    import pandas as pd

    n_missing = int(df.isna().sum().sum())
    imp = DenoisingImputer(
        n_components=args.hidden,
        noise_level=args.noise,
        max_epochs=args.epochs if args.epochs else "auto",
        random_state=args.seed,
        device=args.device,
        verbose=0 if args.quiet else 1,
    ).fit(df)
    if args.n_imputations == 1:
        out = imp.transform(df)
    else:
        frames = imp.multiple_imputations(df, args.n_imputations)
        out = pd.concat([f.assign(imputation=k + 1) for k, f in enumerate(frames)], ignore_index=True)
        out = out[["imputation"] + [c for c in out.columns if c != "imputation"]]
    write_table(out, args.out)
    copies = "" if args.n_imputations == 1 else f" in {args.n_imputations} imputations (column 'imputation')"
    print(f"filled {n_missing} missing entries of {len(df)} rows{copies}; wrote {args.out}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "impute",
        help="fill missing values of a table (CSV or Parquet)",
        description="Impute missing entries with a denoising autoencoder trained on the observed ones.",
    )
    p.add_argument("data", help="a .csv or .parquet table with missing entries")
    p.add_argument("--out", required=True, help="the completed table (.csv or .parquet)")
    p.add_argument(
        "--n-imputations",
        type=positive_int,
        default=1,
        help="draws from the reconstruction distribution (multiple imputation); 1 fills with the mean",
    )
    p.add_argument("--hidden", type=positive_int, default=256)
    p.add_argument("--noise", type=float, default=0.25, help="masking level in [0, 1]")
    p.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: auto)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--categorical", help="comma-separated columns to treat as categorical")
    p.add_argument("--numeric", help="comma-separated columns to treat as numeric")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)
