"""Digital convexity of pixel sets: the test that labels the ``convex`` benchmark (see :mod:`.shapes`)."""

from __future__ import annotations

from typing import cast

import numpy as np

from .photos import PATCH

__all__ = ["is_digitally_convex"]

SIDE = PATCH  # 28

_IDX = np.arange(SIDE)
_GAP = (_IDX[None, :] - _IDX[:, None]).astype(np.float32)  # [i, j] = j - i
_AFTER = _GAP > 0  # j > i (also: r > i when indexed [i, r])


def _contiguous(any_: np.ndarray) -> np.ndarray:
    """Rows of ``any_`` (n, L) whose True entries form one run (all-False rows count as True)."""
    starts = np.count_nonzero(any_[:, 1:] & ~any_[:, :-1], axis=1) + any_[:, 0]
    return starts <= 1


def is_digitally_convex(masks: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For boolean images (n, 28, 28) (or one (28, 28)): is each set convex (module docstring)?

    A set S of pixels is digitally convex when S = {pixel centres inside conv(S)}; here it must
    also have no empty row or column between its extreme rows and columns. The hull
    meets row r in [f(r), g(r)], where g is the concave majorant of the rightmost pixel of each
    row and f the convex minorant of the leftmost: g(r) = max over rows i ≤ r ≤ j of the
    linear interpolation between (i, right_i) and (j, right_j). S is digitally convex iff every
    row between its first and last row holds exactly the integers of [f(r), g(r)]. A cheap
    necessary test (rows, columns and row/column ranges without gaps) decides most
    non-convex sets before the exact one. The empty set counts as convex. Vectorized: about
    5 µs per image.
    """
    masks = np.asarray(masks, dtype=bool)
    single = masks.ndim == 2
    if single:
        masks = masks[None]
    n, h, w = masks.shape
    if (h, w) != (SIDE, SIDE):
        raise ValueError(f"expected images of shape (n, {SIDE}, {SIDE}), got {masks.shape}")
    row_any = cast(np.ndarray, masks.any(axis=2))  # masks is 3-d, so these are arrays, never a scalar
    col_any = cast(np.ndarray, masks.any(axis=1))
    ok = (
        _contiguous(row_any)
        & _contiguous(col_any)
        & _contiguous(masks.reshape(n * h, w)).reshape(n, h).all(axis=1)
        & _contiguous(masks.transpose(0, 2, 1).reshape(n * w, h)).reshape(n, w).all(axis=1)
    )
    idx = np.flatnonzero(ok)
    for s in range(0, idx.size, chunk):
        sub = idx[s : s + chunk]
        ok[sub] = _exact_convex(masks[sub], row_any[sub])
    return ok[0] if single else ok


def _envelope(ends: np.ndarray, row_any: np.ndarray, upper: bool) -> np.ndarray:
    """Concave majorant (``upper``) or convex minorant of the points (i, ends[i]), rows with
    ``row_any``, evaluated at every row r: max over i ≤ r ≤ j of the interpolation between
    (i, ends_i) and (j, ends_j) = max(ends_r, max over i < r of ends_i + (r − i)·max over j ≥ r
    of slope(i, j)) — a suffix maximum over j makes it O(28²) per image."""
    sign = 1.0 if upper else -1.0
    e = ends * sign
    pair = _AFTER[None] & row_any[:, :, None] & row_any[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(pair, (e[:, None, :] - e[:, :, None]) / np.where(_AFTER, _GAP, 1)[None], -np.inf)
        best = np.maximum.accumulate(slope[:, :, ::-1], axis=2)[:, :, ::-1]  # [i, r] = max_{j >= r} slope(i, j)
        cand = np.where(_AFTER[None] & row_any[:, :, None], e[:, :, None] + _GAP[None] * best, -np.inf)
    env = np.maximum(cand.max(axis=1), np.where(row_any, e, -np.inf))
    return env * sign


def _exact_convex(masks: np.ndarray, row_any: np.ndarray) -> np.ndarray:
    """Exact digital-convexity test for sets whose rows are contiguous and row range gap-free."""
    count = masks.sum(axis=2)
    left = np.argmax(masks, axis=2).astype(np.float32)
    right = (SIDE - 1 - np.argmax(masks[:, :, ::-1], axis=2)).astype(np.float32)
    g = _envelope(right, row_any, upper=True)
    f = _envelope(left, row_any, upper=False)
    eps = 1e-3  # hull bounds are rationals with denominators ≤ 27: ≥ 1/27 away from integers unless integer
    with np.errstate(invalid="ignore"):
        hull_count = np.where(row_any, np.floor(g + eps) - np.ceil(f - eps) + 1, 0)
    return np.all(hull_count == count, axis=1)
