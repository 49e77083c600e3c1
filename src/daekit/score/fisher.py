"""The Fisher divergence E‖s(x) − ∇ log q(x)‖² between a score function and a true score."""

from __future__ import annotations

import torch
from torch import Tensor

from ..utils.validation import check_positive_int
from ._checks import ScoreFn, TrueScore, check_x, sq_norm, target_score

__all__ = ["fisher_divergence", "relative_fisher_divergence"]


def _fisher_terms(score_fn: ScoreFn, true_score: TrueScore, x: Tensor, batch_size: int) -> tuple[float, float]:
    check_x(x)
    batch_size = check_positive_int(batch_size, "batch_size")
    err = 0.0
    ref = 0.0
    for start in range(0, x.shape[0], batch_size):
        xb = x[start : start + batch_size]
        t = (
            target_score(true_score, xb)
            if callable(true_score)
            else target_score(true_score[start : start + batch_size], xb)
        )
        with torch.no_grad():
            s = score_fn(xb)
        err += float(sq_norm(s.detach().to(torch.float64) - t.detach().to(torch.float64)).sum())
        ref += float(sq_norm(t.detach().to(torch.float64)).sum())
    n = x.shape[0]
    return err / n, ref / n


def fisher_divergence(score_fn: ScoreFn, true_score: TrueScore, x: Tensor, batch_size: int = 8192) -> float:
    """F = E_x ‖s(x) − ∇ log q(x)‖², the sample mean over the points ``x`` (which should be
    drawn from q). ``true_score`` is a callable or a tensor shaped like ``x``. The score
    function is called under ``torch.no_grad()`` in batches of ``batch_size``."""
    return _fisher_terms(score_fn, true_score, x, batch_size)[0]


def relative_fisher_divergence(score_fn: ScoreFn, true_score: TrueScore, x: Tensor, batch_size: int = 8192) -> float:
    """E‖s(x) − ∇ log q(x)‖² / E‖∇ log q(x)‖² over the points ``x`` (0 is perfect; s ≡ 0 gives 1)."""
    err, ref = _fisher_terms(score_fn, true_score, x, batch_size)
    if ref == 0.0:
        raise ValueError("the true score is zero at every point of x; the relative Fisher divergence is undefined")
    return err / ref
