"""Mixed-type tables: the Palmer penguins (numeric and string columns, real missing values).

species  5-fold accuracy of logistic regression on features of the raw DataFrame (all columns
         but species and year): daekit (DenoisingImputer → one-hot/standardize →
         DenoisingAutoencoder(64 units, Adam) → LogisticRegression) beside the simplest baseline
         (SimpleImputer → one-hot/standardize → LogisticRegression).
sex      imputation accuracy of the categorical column ``sex``: in each of 5 repetitions 20 % of
         its observed values are hidden; daekit's DenoisingImputer on the raw DataFrame (all
         columns) beside the most frequent value and KNNImputer (on one-hot/standardized columns,
         the nearer of the two one-hot codes).

    python benchmarks/mixed_types.py [--threads 1]

Prints the tables and appends one JSON line to benchmarks/results/mixed_types.jsonl.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.compose import make_column_transformer
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from _report import append_result, machine_info
from daekit import DenoisingAutoencoder, DenoisingImputer

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def load():
    try:
        from palmerpenguins import load_penguins
    except ImportError:
        raise SystemExit("this benchmark needs palmerpenguins: pip install 'daekit[bench]'") from None
    df = load_penguins()
    return df.astype({c: object for c in ["species", "island", "sex"]})


def encode(categorical: list[str]):
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical), (StandardScaler(), NUMERIC)
    )


def species(df, rows: list) -> None:
    X, y = df.drop(columns=["species", "year"]), df["species"].to_numpy()
    pipes = {
        "daekit DAE features": make_pipeline(
            DenoisingImputer(random_state=0).set_output(transform="pandas"),
            encode(["island", "sex"]),
            DenoisingAutoencoder(n_components=64, optimizer="adam", learning_rate=1e-3, max_epochs=50, random_state=0),
            LogisticRegression(max_iter=2000),
        ),
        "one-hot + logistic": make_pipeline(
            make_column_transformer(
                (
                    make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                    ["island", "sex"],
                ),
                (make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            ),
            LogisticRegression(max_iter=2000),
        ),
    }
    for name, pipe in pipes.items():
        t0 = time.perf_counter()
        acc = cross_val_score(pipe, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
        rows.append(
            {
                "task": "species",
                "method": name,
                "accuracy": float(acc.mean()),
                "std": float(acc.std()),
                "seconds": time.perf_counter() - t0,
            }
        )
        print(f"species  {name:22s} accuracy {acc.mean():.4f} ± {acc.std():.4f}", flush=True)


def knn_sex(holes):
    cats = ["species", "island"]
    onehot = OneHotEncoder(sparse_output=False).fit(holes[cats])
    num = StandardScaler().fit_transform(holes[NUMERIC])
    sex = holes["sex"].map({"female": 0.0, "male": 1.0}).to_numpy(dtype=float)
    filled = KNNImputer().fit_transform(np.column_stack([onehot.transform(holes[cats]), num, sex]))
    return np.where(filled[:, -1] >= 0.5, "male", "female")


def sex(df, rows: list, reps: int = 5) -> None:
    accs: dict[str, list[float]] = {}
    for rep in range(reps):
        rng = np.random.default_rng(rep)
        known = np.flatnonzero(df["sex"].notna())
        hide = rng.choice(known, size=int(0.2 * len(known)), replace=False)
        holes = df.copy()
        holes.loc[hide, "sex"] = None
        truth = df.loc[hide, "sex"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            guesses = {
                "daekit DenoisingImputer": DenoisingImputer(random_state=rep)
                .fit_transform(holes)["sex"]
                .to_numpy()[hide],
                "most frequent": np.full(len(hide), holes["sex"].mode()[0]),
                "KNNImputer": knn_sex(holes)[hide],
            }
        for name, guess in guesses.items():
            accs.setdefault(name, []).append(float(np.mean(guess == truth)))
    for name, vals in accs.items():
        rows.append({"task": "sex", "method": name, "accuracy": float(np.mean(vals)), "std": float(np.std(vals))})
        print(f"sex      {name:24s} accuracy {np.mean(vals):.4f} ± {np.std(vals):.4f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    df = load()
    rows: list = []
    species(df, rows)
    sex(df, rows)
    append_result("mixed_types", {"machine": machine_info(), "rows": rows})


if __name__ == "__main__":
    main()
