"""SVMrbf: a grid over C and γ selected on validation, refitted on training + validation."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .budget import Budget
from .data import ReproData, subsample
from .trials import TrialCache, errors, log, point_key, selection_key


def svm_points(budget: Budget) -> list[dict[str, float]]:
    """The grid points of SVMrbf, in grid order: ``{"C", "gamma_factor"}``."""
    return [{"C": c, "gamma_factor": g} for c in budget.svm_C for g in budget.svm_gamma]


def _grid_fit_set(data: ReproData, budget: Budget, resource: float) -> tuple[np.ndarray, np.ndarray]:
    """The examples every SVM of the grid is fitted on: the training set capped at
    ``svm_grid_max_train``, then (``resource`` < 1, successive halving's early rungs) a seeded
    subset of that fraction of it (at least 2 examples per class present)."""
    x, y = data.x_train, data.y_train
    if budget.svm_grid_max_train is not None and len(x) > budget.svm_grid_max_train:
        x, y = subsample(x, y, budget.svm_grid_max_train, np.random.default_rng([budget.seed, 20101]))
    if resource != 1.0:
        n = max(2 * len(np.unique(y)), int(np.ceil(resource * len(x))))
        x, y = subsample(x, y, n, np.random.default_rng([budget.seed, 20102]))
    return x, y


def svm_record(
    data: ReproData, budget: Budget, params: dict[str, float], cache: TrialCache, verbose: int, resource: float = 1.0
) -> dict[str, Any]:
    """One grid point (C, γ factor): from ``cache``, or fitted on the grid's fit set and scored on
    validation, then put there. A pure function of its arguments."""
    from sklearn.svm import SVC

    key = point_key(params, resource)
    record = cache.get(key)
    if record is None:
        x, y = _grid_fit_set(data, budget, resource)
        scale = 1.0 / (data.x_train.shape[1] * float(data.x_train.var()) or 1.0)
        t0 = time.perf_counter()
        svm = SVC(C=params["C"], gamma=params["gamma_factor"] * scale, kernel="rbf", cache_size=1000).fit(x, y)
        valid_error, _ = errors(data.y_valid, svm.predict(data.x_valid))
        record = {
            "params": {**params, "gamma": params["gamma_factor"] * scale},
            "valid_error": valid_error,
            "n_support": int(svm.support_.size),
            "n_fit": len(x),
            "seconds": time.perf_counter() - t0,
        }
        if resource != 1.0:
            record["resource"] = resource
        cache.put(key, record)
    log(
        verbose,
        f"    SVMrbf C={params['C']:g} γ={params['gamma_factor']:g}·scale: valid "
        f"{100 * record['valid_error']:.2f}% ({record['seconds']:.1f}s)",
    )
    return record


def select_svm(data: ReproData, trials: list[dict[str, Any]], verbose: int) -> dict[str, Any]:
    """The body of the SVMrbf cell: the grid point of lowest validation error among ``trials``,
    refitted on training + validation and evaluated on the test set."""
    from sklearn.svm import SVC

    best = min(trials, key=selection_key)
    t0 = time.perf_counter()
    x_fit = np.concatenate([data.x_train, data.x_valid])
    y_fit = np.concatenate([data.y_train, data.y_valid])
    svm = SVC(C=best["params"]["C"], gamma=best["params"]["gamma"], kernel="rbf", cache_size=1000).fit(x_fit, y_fit)
    test_error, half = errors(data.y_test, svm.predict(data.x_test))
    refit_seconds = time.perf_counter() - t0
    log(
        verbose,
        f"    SVMrbf refit on {len(x_fit)} (C={best['params']['C']:g}, γ={best['params']['gamma']:.4g}): "
        f"test {100 * test_error:.2f}% ({refit_seconds:.1f}s)",
    )
    return {
        "selected": best["params"],
        "valid_error": best["valid_error"],
        "test_error": test_error,
        "test_ci95": half,
        "trials": trials,
        "refit": {"n_fit": len(x_fit), "n_support": int(svm.support_.size), "seconds": refit_seconds},
        "noise": None,
    }


def run_svm(data: ReproData, budget: Budget, cache: TrialCache, verbose: int) -> dict[str, Any]:
    trials = [svm_record(data, budget, params, cache, verbose) for params in svm_points(budget)]
    return select_svm(data, trials, verbose)
