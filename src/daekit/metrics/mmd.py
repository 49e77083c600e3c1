"""Maximum mean discrepancy between a sampler and a distribution whose draws are known.

The unbiased estimate of MMD² with a sum of Gaussian kernels of several bandwidths (Gretton et
al. 2012, eq. 3; Li, Swersky & Zemel 2015), for toy data whose true sampler is known: two
samples of the same distribution give ≈ 0 (negative values happen). Computed in float64 blocks
(memory about ``batch_size²`` numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..utils.validation import check_positive_int
from ._blocks import as_matrix, check_same_d, check_widths, sq_dists

__all__ = ["MMD_BANDWIDTHS", "mmd"]

#: Default MMD bandwidths, suited to the toy 2-D densities of :mod:`daekit.datasets.toy`.
MMD_BANDWIDTHS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def _kernel_sum(a: Tensor, b: Tensor, inv_two_var: Tensor, batch_size: int) -> float:
    """Σᵢⱼ k(aᵢ, bⱼ) with k = mean over bandwidths of exp(−‖a − b‖²/2h²), float64, in blocks."""
    b_sq = b.square().sum(1)
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for i in range(0, a.shape[0], batch_size):
        x = a[i : i + batch_size]
        for j in range(0, b.shape[0], batch_size):
            dist = sq_dists(x, b[j : j + batch_size], b_sq[j : j + batch_size])
            for c in inv_two_var:
                total += torch.exp(-dist * c).sum()
    return float(total) / len(inv_two_var)


def mmd(x: Any, y: Any, bandwidths: Sequence[float] = MMD_BANDWIDTHS, batch_size: int = 2048) -> float:
    """Unbiased estimate of MMD²(P, Q) from draws ``x`` ~ P (m, d) and ``y`` ~ Q (n, d)
    (Gretton et al. 2012, eq. 3):

        MMD²_u = Σ_{i≠j} k(xᵢ, xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ, yⱼ)/(n(n−1)) − 2 Σᵢⱼ k(xᵢ, yⱼ)/(mn)

    with the multi-bandwidth Gaussian kernel k(a, b) = (1/H) Σ_h exp(−‖a − b‖²/2h²), h in
    ``bandwidths``. ≈ 0 (and possibly slightly negative) when P = Q, > 0 otherwise. Needs
    m, n ≥ 2. Computed in float64 blocks of ``batch_size``.
    """
    a = as_matrix(x, "x")
    b = as_matrix(y, "y").to(a.device)
    check_same_d(a, b, "x", "y")
    m, n = a.shape[0], b.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"mmd needs at least 2 points in x and in y, got {m} and {n}")
    h = check_widths(bandwidths, "bandwidths")
    batch_size = check_positive_int(batch_size, "batch_size")
    inv_two_var = torch.as_tensor(1.0 / (2.0 * h**2), dtype=torch.float64, device=a.device)
    # k(a, a) = 1 for every bandwidth: drop the diagonal by subtracting m (resp. n)
    kxx = (_kernel_sum(a, a, inv_two_var, batch_size) - m) / (m * (m - 1))
    kyy = (_kernel_sum(b, b, inv_two_var, batch_size) - n) / (n * (n - 1))
    kxy = _kernel_sum(a, b, inv_two_var, batch_size) / (m * n)
    return kxx + kyy - 2.0 * kxy
