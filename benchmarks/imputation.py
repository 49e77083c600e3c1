"""Missing-value imputation: daekit's DenoisingImputer (defaults) beside scikit-learn's imputers,
RMSE on the removed entries, measured in one run.

Data: scikit-learn's digits (pixels scaled to [0, 1]) and breast cancer (standardized). Each
repetition removes 20 % of the entries, either completely at random (MCAR) or not at random
(MNAR: in half of the columns, chosen at random, the largest 40 % of values; 20 % of all entries).
Peers: SimpleImputer(mean), KNNImputer(), IterativeImputer(random_state=rep). For daekit, also
the coverage of the central 90 % interval of 20 multiple imputations (MCAR).

    python benchmarks/imputation.py [--reps 5] [--threads 1]

Prints a table (mean ± std over the repetitions) and appends one JSON line to
benchmarks/results/imputation.jsonl.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import StandardScaler

from _report import append_result, machine_info
from daekit.estimators import DenoisingImputer


def datasets() -> dict[str, np.ndarray]:
    return {
        "digits": load_digits().data / 16.0,
        "breast cancer": StandardScaler().fit_transform(load_breast_cancer().data),
    }


def remove(X: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of the removed entries (20 % of all)."""
    if kind == "MCAR":
        return rng.uniform(size=X.shape) < 0.2
    mask = np.zeros(X.shape, dtype=bool)
    for j in rng.choice(X.shape[1], X.shape[1] // 2, replace=False):
        k = int(0.4 * len(X))
        mask[np.argsort(-X[:, j] + 1e-9 * rng.uniform(size=len(X)))[:k], j] = True
    return mask


def imputers(rep: int) -> dict:
    return {
        "daekit (defaults)": lambda: DenoisingImputer(random_state=rep),
        "SimpleImputer(mean)": lambda: SimpleImputer(),
        "KNNImputer": lambda: KNNImputer(),
        "IterativeImputer": lambda: IterativeImputer(random_state=rep),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, X in datasets().items():
        for kind in ("MCAR", "MNAR"):
            scores: dict[str, list[float]] = {}
            seconds: dict[str, float] = {}
            coverage = []
            for rep in range(args.reps):
                rng = np.random.default_rng(rep)
                mask = remove(X, kind, rng)
                mask[mask.all(axis=1), 0] = False  # every row keeps an entry
                holes = np.where(mask, np.nan, X)
                for imp_name, make in imputers(rep).items():
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        imp = make().fit(holes)
                        out = imp.transform(holes)
                    seconds[imp_name] = seconds.get(imp_name, 0.0) + time.perf_counter() - t0
                    scores.setdefault(imp_name, []).append(float(np.sqrt(np.mean((out[mask] - X[mask]) ** 2))))
                    if imp_name.startswith("daekit") and kind == "MCAR":
                        draws = np.stack(imp.multiple_imputations(holes, n_imputations=20))[:, mask]
                        lo, hi = np.percentile(draws, [5, 95], axis=0)
                        coverage.append(float(np.mean((X[mask] >= lo) & (X[mask] <= hi))))
            for imp_name, vals in scores.items():
                row = {
                    "data": name,
                    "missing": kind,
                    "imputer": imp_name,
                    "rmse": float(np.mean(vals)),
                    "rmse_std": float(np.std(vals)),
                    "seconds_per_rep": seconds[imp_name] / args.reps,
                }
                if imp_name.startswith("daekit") and coverage:
                    row["coverage90"] = float(np.mean(coverage))
                rows.append(row)
                cov = f"  90% coverage {row['coverage90']:.3f}" if "coverage90" in row else ""
                print(
                    f"{name:14s} {kind} {imp_name:20s} RMSE {row['rmse']:.4f} ± {row['rmse_std']:.4f}"
                    f"  {row['seconds_per_rep']:.1f}s{cov}",
                    flush=True,
                )
    append_result("imputation", {"reps": args.reps, "machine": machine_info(), "rows": rows})


if __name__ == "__main__":
    main()
