"""Outlier detection: daekit's DenoisingAutoencoderOutlierDetector (defaults) beside the usual
detectors, AUROC measured in one run.

tabular  breast cancer (benign = normal) and wine (class 1 = normal): 5 folds of the normal
         rows; each detector is fit on 4 folds and scored on the held-out fold's normal rows
         and all the other class's rows. Peers: IsolationForest, LocalOutlierFactor(novelty=True),
         OneClassSVM (all with scikit-learn's defaults on standardized inputs) and PyOD's
         AutoEncoder (its defaults, 10 epochs). Also the share of training rows flagged by
         predict with contamination=0.1.
mnist    the one-class protocol of Ruff et al. (2018, Table 1): train on one digit's training
         images, AUROC over the whole test set with that digit normal. Peers: PCA (32
         components, squared reconstruction error) and IsolationForest (scikit-learn defaults);
         Deep SVDD's published numbers (Ruff et al. 2018, Table 1, one-class Deep SVDD) quoted.

    python benchmarks/outliers.py [--part tabular|mnist|all] [--digits 0,1,...] [--threads 1]
                                  [--outlier-score reconstruction|score_norm|energy]

(--outlier-score replaces the detector's default score, for comparing the three.)

Prints tables and appends one JSON line to benchmarks/results/outliers.jsonl.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from _report import append_result, machine_info
from daekit.estimators import DenoisingAutoencoderOutlierDetector

# Ruff et al. 2018, Table 1, MNIST one-class Deep SVDD AUROC (%) per digit (mean ± std over 10 seeds)
DEEP_SVDD = [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5]


class PCAReconstruction:
    """PCA with ``k`` components; score_samples = −‖x − x̂‖² (squared reconstruction error)."""

    def __init__(self, k: int = 32) -> None:
        self.k = k

    def fit(self, X):
        self.pca = PCA(self.k, random_state=0).fit(X)
        return self

    def score_samples(self, X):
        r = self.pca.inverse_transform(self.pca.transform(X))
        return -((X - r) ** 2).sum(axis=1)


class PyODAutoEncoder:
    def __init__(self):
        from pyod.models.auto_encoder import AutoEncoder

        self.model = AutoEncoder(verbose=0, random_state=0)

    def fit(self, X):
        self.model.fit(X)
        return self

    def score_samples(self, X):
        return -self.model.decision_function(X)


def tabular_detectors():
    return {
        "daekit (defaults)": lambda: DenoisingAutoencoderOutlierDetector(random_state=0),
        "IsolationForest": lambda: IsolationForest(random_state=0),
        "LOF (novelty)": lambda: make_pipeline(StandardScaler(), LocalOutlierFactor(novelty=True)),
        "OneClassSVM": lambda: make_pipeline(StandardScaler(), OneClassSVM()),
        "PyOD AutoEncoder": PyODAutoEncoder,
    }


def tabular(rows: list) -> None:
    data = {"breast cancer": (load_breast_cancer(return_X_y=True), 1), "wine": (load_wine(return_X_y=True), 1)}
    for name, ((X, y), normal) in data.items():
        inl, outl = X[y == normal], X[y != normal]
        for det_name, make in tabular_detectors().items():
            aucs, t0 = [], time.perf_counter()
            for tr, te in KFold(5, shuffle=True, random_state=0).split(inl):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    det = make().fit(inl[tr])
                Xt = np.vstack([inl[te], outl])
                aucs.append(roc_auc_score(np.r_[np.ones(len(te)), np.zeros(len(outl))], det.score_samples(Xt)))
            row = {
                "part": "tabular",
                "data": name,
                "detector": det_name,
                "auroc": float(np.mean(aucs)),
                "auroc_std": float(np.std(aucs)),
                "seconds": time.perf_counter() - t0,
            }
            rows.append(row)
            print(
                f"{name:14s} {det_name:20s} AUROC {row['auroc']:.3f} ± {row['auroc_std']:.3f}  {row['seconds']:.1f}s",
                flush=True,
            )
        det = DenoisingAutoencoderOutlierDetector(contamination=0.1, random_state=0).fit(inl)
        share = float(np.mean(det.predict(inl) == -1))
        rows.append({"part": "tabular", "data": name, "contamination": 0.1, "flagged_share": share})
        print(f"{name:14s} contamination=0.1 flags {share:.3f} of the training rows", flush=True)


def mnist(rows: list, digits: list[int], outlier_score: str | None = None) -> None:
    from daekit.datasets.mnist import load_mnist

    xtr, ytr, xte, yte = load_mnist(download=False, verbose=False)
    kw = {"outlier_score": outlier_score} if outlier_score else {}
    for d in digits:
        x, labels = xtr[ytr == d], (yte == d).astype(int)
        row = {"part": "mnist", "digit": d, "deep_svdd_published": DEEP_SVDD[d]}
        row["outlier_score"] = outlier_score or DenoisingAutoencoderOutlierDetector().outlier_score
        for name, make in {
            "daekit": lambda: DenoisingAutoencoderOutlierDetector(random_state=0, **kw),
            "PCA-32": PCAReconstruction,
            "IsolationForest": lambda: IsolationForest(random_state=0),
        }.items():
            t0 = time.perf_counter()
            det = make().fit(x)
            fit_s = time.perf_counter() - t0
            row[name] = 100 * roc_auc_score(labels, det.score_samples(xte))
            row[f"{name}_fit_s"] = fit_s
        rows.append(row)
        print(
            f"digit {d}: daekit {row['daekit']:.1f} ({row['daekit_fit_s']:.0f}s)  PCA {row['PCA-32']:.1f}  "
            f"IF {row['IsolationForest']:.1f}  Deep SVDD (published) {DEEP_SVDD[d]:.1f}",
            flush=True,
        )
    m = [r for r in rows if r.get("part") == "mnist"]
    if m:
        means = {k: np.mean([r[k] for r in m]) for k in ("daekit", "PCA-32", "IsolationForest", "deep_svdd_published")}
        wins = sum(r["daekit"] > r["PCA-32"] for r in m)
        print(
            f"mean over {len(m)} digits: "
            + "  ".join(f"{k} {v:.1f}" for k, v in means.items())
            + f"; daekit above PCA on {wins} of {len(m)}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=["tabular", "mnist", "all"], default="all")
    p.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--outlier-score", choices=["reconstruction", "score_norm", "energy"], default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows: list = []
    if args.part in ("tabular", "all"):
        tabular(rows)
    if args.part in ("mnist", "all"):
        mnist(rows, [int(d) for d in args.digits.split(",")], args.outlier_score)
    append_result("outliers", {"part": args.part, "machine": machine_info(), "rows": rows})


if __name__ == "__main__":
    main()
