"""Helpers shared by the scikit-learn estimators: seeds, validation splits, batched forward."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["seed_from_random_state", "validation_split", "batched_numpy", "one_thread_in_joblib_workers"]


def seed_from_random_state(random_state) -> int:
    """An int seed for torch from a scikit-learn ``random_state`` (None, int or RandomState)."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def validation_split(
    n: int,
    fraction: float,
    seed: int,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Indices (train, valid) holding out ``fraction`` of ``n`` rows; valid is None when the
    split would leave either side empty."""
    n_valid = int(round(n * fraction))
    if fraction <= 0 or n_valid < 1 or n - n_valid < 1:
        return np.arange(n), None
    rng = np.random.default_rng(seed)
    if stratify is None:
        perm = rng.permutation(n)
        return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])
    valid = []
    for label in np.unique(stratify):
        rows = np.flatnonzero(stratify == label)
        k = int(round(len(rows) * fraction))
        if 0 < k < len(rows):
            valid.append(rng.choice(rows, size=k, replace=False))
    if not valid:
        return np.arange(n), None
    valid_idx = np.sort(np.concatenate(valid))
    return np.setdiff1d(np.arange(n), valid_idx), valid_idx


def batched_numpy(
    fn: Callable[[torch.Tensor], torch.Tensor],
    X: np.ndarray,
    device: torch.device,
    batch_size: int = 4096,
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Apply a torch function to the rows of ``X`` in batches without gradients; numpy out."""
    outs = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = torch.tensor(X[start : start + batch_size], device=device, dtype=dtype)
            outs.append(fn(xb).cpu().numpy())
    return np.concatenate(outs) if outs else np.empty((0,), dtype=np.float32)


def in_joblib_worker() -> bool:
    """Whether this code runs inside a joblib worker (``Parallel(n_jobs=k)``, hence
    ``GridSearchCV(n_jobs=k)``): joblib runs its tasks under a nested backend (nesting level ≥ 1),
    in process and thread workers alike; ``n_jobs=1`` runs them at level 0."""
    try:
        from joblib.parallel import get_active_backend
    except ImportError:
        return False
    backend, _ = get_active_backend()
    return getattr(backend, "nesting_level", 0) > 0


def one_thread_in_joblib_workers(method: Callable) -> Callable:
    """Run ``method`` with one torch thread when called inside a joblib worker, so that k parallel
    fits use k cores rather than k × (threads per fit); the calling thread's setting is restored
    when it returns. Outside joblib, torch's setting is left alone. (With OpenMP, a thread that
    sets its thread count keeps its own, so concurrent fits in joblib's thread workers do not
    undo each other's limit.)"""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        if not in_joblib_worker():
            return method(*args, **kwargs)
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return method(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    return wrapper
