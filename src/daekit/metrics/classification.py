"""Classification error with its 95% confidence interval, as reported in the tables of Vincent et al.
(2008, Table 1; 2010, Tables 3–4): the half-width of the normal-approximation interval of a
binomial proportion, 1.96·√(p(1 − p)/n).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["classification_error", "error_interval"]

#: The 97.5% quantile of the standard normal: the interval p ± Z95·√(p(1−p)/n) covers 95%.
Z95 = 1.96


def error_interval(p: float, n: int) -> float:
    """Half-width 1.96·√(p(1 − p)/n) of the 95% interval of an error rate ``p`` measured on ``n``
    examples (normal approximation of the binomial, as in Vincent et al. 2008, Table 1)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    p = float(p)
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    return Z95 * math.sqrt(p * (1.0 - p) / int(n))


def classification_error(y_true: Any, y_pred: Any) -> tuple[float, float]:
    """The fraction of wrong predictions and the half-width of its 95% interval.

    Parameters
    ----------
    y_true, y_pred : array-like (n,)
        True and predicted labels (any comparable type: integers, strings).

    Returns
    -------
    (error, half_width) : the error rate p in [0, 1] and 1.96·√(p(1 − p)/n).
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D, got shapes {y_true.shape} and {y_pred.shape}")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("y_true must hold at least one label")
    p = float(np.mean(y_true != y_pred))
    return p, error_interval(p, len(y_true))
