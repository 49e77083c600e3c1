"""SVMrbf: a grid over C and γ selected on validation, refitted on training + validation."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .budget import Budget
from .data import ReproData, subsample
from .trials import TrialCache, errors, log, selection_key, trial_key


def run_svm(data: ReproData, budget: Budget, cache: TrialCache, verbose: int) -> dict[str, Any]:
    from sklearn.svm import SVC

    x, y = data.x_train, data.y_train
    if budget.svm_grid_max_train is not None and len(x) > budget.svm_grid_max_train:
        x, y = subsample(x, y, budget.svm_grid_max_train, np.random.default_rng([budget.seed, 20101]))
    scale = 1.0 / (data.x_train.shape[1] * float(data.x_train.var()) or 1.0)
    trials = []
    for c in budget.svm_C:
        for g in budget.svm_gamma:
            params = {"C": c, "gamma_factor": g}
            key = trial_key(params)
            record = cache.get(key)
            if record is None:
                t0 = time.perf_counter()
                svm = SVC(C=c, gamma=g * scale, kernel="rbf", cache_size=1000).fit(x, y)
                valid_error, _ = errors(data.y_valid, svm.predict(data.x_valid))
                record = {"params": {**params, "gamma": g * scale}, "valid_error": valid_error,
                          "n_support": int(svm.support_.size), "n_fit": len(x),
                          "seconds": time.perf_counter() - t0}
                cache.put(key, record)
            log(verbose, f"    SVMrbf C={c:g} γ={g:g}·scale: valid {100 * record['valid_error']:.2f}% "
                          f"({record['seconds']:.1f}s)")
            trials.append(record)
    best = min(trials, key=selection_key)
    t0 = time.perf_counter()
    x_fit = np.concatenate([data.x_train, data.x_valid])
    y_fit = np.concatenate([data.y_train, data.y_valid])
    svm = SVC(C=best["params"]["C"], gamma=best["params"]["gamma"], kernel="rbf", cache_size=1000).fit(x_fit, y_fit)
    test_error, half = errors(data.y_test, svm.predict(data.x_test))
    refit_seconds = time.perf_counter() - t0
    log(verbose, f"    SVMrbf refit on {len(x_fit)} (C={best['params']['C']:g}, γ={best['params']['gamma']:.4g}): "
                  f"test {100 * test_error:.2f}% ({refit_seconds:.1f}s)")
    return {"selected": best["params"], "valid_error": best["valid_error"], "test_error": test_error,
            "test_ci95": half, "trials": trials, "refit": {"n_fit": len(x_fit), "n_support": int(svm.support_.size),
                                                           "seconds": refit_seconds},
            "noise": None}
