"""One Split type — training, validation and test arrays with their provenance — and the one
holdout rule that carves a validation set out of the training rows (:func:`hold_out`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..utils.validation import check_positive_int

__all__ = ["Split", "hold_out", "holdout_size"]


@dataclass
class Split:
    """Training, validation and test arrays of one data set; labels are None for unlabelled data.

    ``name`` and ``note`` say where the arrays come from (the data name resolved, a fallback).
    :func:`daekit.training.loop.fit` trains on :meth:`train_arrays` and validates on
    :meth:`valid_arrays`.
    """

    name: str
    x_train: Any
    y_train: Any = None
    x_valid: Any = None
    y_valid: Any = None
    x_test: Any = None
    y_test: Any = None
    note: str = ""

    def train_arrays(self) -> tuple:
        """``(x_train,)`` or ``(x_train, y_train)`` when there are labels."""
        return (self.x_train,) if self.y_train is None else (self.x_train, self.y_train)

    def valid_arrays(self) -> tuple | None:
        """``(x_valid,)``, ``(x_valid, y_valid)`` or None when there is no validation set."""
        if self.x_valid is None or len(self.x_valid) == 0:
            return None
        if self.y_train is not None and self.y_valid is None:
            raise ValueError(f"split {self.name!r} has training labels but no validation labels")
        return (self.x_valid,) if self.y_train is None else (self.x_valid, self.y_valid)


def holdout_size(n: int, valid_size: int, max_fraction: float | None = None) -> int:
    """Validation rows to hold out of ``n`` training rows: ``valid_size``, capped at
    ``max_fraction * n`` when given; it must leave at least one training row."""
    check_positive_int(valid_size, "valid_size", allow_zero=True)
    n_valid = valid_size if max_fraction is None else min(valid_size, math.floor(n * max_fraction + 1e-9))
    if n_valid >= n:
        raise ValueError(f"valid_size={n_valid} leaves no training examples out of {n}")
    return n_valid


def hold_out(split: Split, valid_size: int, max_fraction: float | None = None) -> Split:
    """The one holdout rule: the *last* :func:`holdout_size` training rows (and labels) become the
    validation set (MNIST's usual 50k / 10k); the test set is left as it is. A split that already
    has a validation set, or ``valid_size=0``, is returned unchanged."""
    if split.x_valid is not None:
        return split
    n = len(split.x_train)
    n_valid = holdout_size(n, valid_size, max_fraction)
    if n_valid == 0:
        return split
    cut = n - n_valid

    def rows(a, lo, hi):
        return a.rows(lo, hi) if hasattr(a, "rows") else a[lo:hi]

    y = split.y_train
    return replace(
        split,
        x_train=rows(split.x_train, 0, cut),
        x_valid=rows(split.x_train, cut, n),
        y_train=None if y is None else y[:cut],
        y_valid=None if y is None else y[cut:],
    )
