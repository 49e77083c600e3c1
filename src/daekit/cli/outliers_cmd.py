"""``daekit outliers fit|score``: fit a denoising-autoencoder outlier detector on a table, score new rows."""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

from ..utils.atomic import atomic_write_bytes
from ._args import non_negative_int, positive_int
from ._tables import read_table, write_table

DETECTOR_FILE = "detector.pkl"


def _contamination(text: str):
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number in (0, 0.5], got {text!r}") from None


def run_fit(args: argparse.Namespace) -> int:
    from ..estimators import DenoisingAutoencoderOutlierDetector

    df = read_table(args.data, args.categorical, args.numeric)
    det = DenoisingAutoencoderOutlierDetector(
        n_components=args.hidden if args.hidden else "auto",
        outlier_score=args.score,
        n_draws=args.draws,
        corruption=args.corruption,
        noise_level=args.noise,
        contamination=args.contamination,
        max_epochs=args.epochs if args.epochs else "auto",
        random_state=args.seed,
        device=args.device,
        verbose=0 if args.quiet else 1,
    )
    det.fit(df)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / DETECTOR_FILE, pickle.dumps(det))
    flagged = float((det.predict(df) == -1).mean())
    info = {
        "data": str(args.data),
        "rows": len(df),
        "columns": list(map(str, df.columns)),
        "params": {k: v for k, v in det.get_params().items() if isinstance(v, (int, float, str, type(None)))},
        "offset": det.offset_,
        "flagged_share": flagged,
        "reconstruction": det.reconstruction_,
    }
    atomic_write_bytes(out / "run.json", (json.dumps(info, indent=2) + "\n").encode())
    print(f"fitted on {len(df)} rows; offset {det.offset_:.4g}; {flagged:.1%} of them flagged")
    print(f"wrote {out / DETECTOR_FILE} and {out / 'run.json'}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    path = Path(args.run) / DETECTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{args.run} holds no {DETECTOR_FILE}; create it with 'daekit outliers fit'")
    det = pickle.loads(path.read_bytes())  # a file this command wrote
    df = read_table(args.data, args.categorical, args.numeric)
    import pandas as pd

    scores = det.score_samples(df)
    result = pd.DataFrame(
        {"score": scores, "decision": scores - det.offset_, "label": (scores - det.offset_ >= 0).astype(int) * 2 - 1}
    )
    if args.out:
        write_table(result, args.out)
        print(f"{int((result['label'] == -1).sum())} of {len(result)} rows flagged; wrote {args.out}")
    else:
        print(result.to_csv(index=False), end="")
    return 0


def _table_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--categorical", help="comma-separated columns to treat as categorical")
    p.add_argument("--numeric", help="comma-separated columns to treat as numeric")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "outliers",
        help="outlier detection on a table (CSV or Parquet)",
        description="Fit a denoising-autoencoder outlier detector, then score rows.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    f = sub.add_parser("fit", help="fit a detector on the rows of a table")
    f.add_argument("data", help="a .csv or .parquet table (rows mostly normal)")
    f.add_argument("--out", required=True, help="run folder for the fitted detector")
    f.add_argument("--score", default="score_norm", choices=["reconstruction", "score_norm", "energy"])
    f.add_argument("--draws", type=non_negative_int, default=0, help="corruption draws averaged per score")
    f.add_argument("--corruption", default="masking", choices=["masking", "swap", "none"])
    f.add_argument("--noise", type=float, default=0.25, help="corruption level in [0, 1]")
    f.add_argument("--contamination", type=_contamination, default="auto")
    f.add_argument("--hidden", type=positive_int, default=None, help="hidden units (default: auto)")
    f.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: auto)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--device", default="auto")
    f.add_argument("--quiet", action="store_true")
    _table_flags(f)
    f.set_defaults(func=run_fit)
    s = sub.add_parser("score", help="score the rows of a table with a fitted detector")
    s.add_argument("run", help="the run folder written by 'daekit outliers fit'")
    s.add_argument("data", help="a .csv or .parquet table with the training columns")
    s.add_argument("--out", help="write score, decision and label (+1 inlier, -1 outlier) here (default: stdout)")
    _table_flags(s)
    s.set_defaults(func=run_score)
