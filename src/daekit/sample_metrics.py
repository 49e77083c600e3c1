"""Metrics of a sampler: Parzen-window log-likelihood and maximum mean discrepancy.

* :func:`parzen_log_likelihood` and :func:`select_parzen_sigma` — the protocol of Bengio et al.
  (2013, 2014, GSN) and Goodfellow et al. (2014, GAN, Table 1): fit an isotropic Gaussian Parzen
  window of width σ to N samples,

      log p(x) = logsumexp_i(−‖x − s_i‖²/2σ²) − log N − d·log(σ√(2π)),

  choose σ on a validation set (for MNIST: the first 1,000 of training examples 50,000–60,000,
  σ from ``np.logspace(-1, 0, 10)``), and report the mean log-likelihood of the test set (the
  10,000 MNIST test images) with its standard error std/√n (numpy's std, ddof = 0, as the GAN
  code does). The published MNIST numbers use 10,000 samples: DBN 138 ± 2, stacked CAE
  121 ± 1.6, deep GSN 214 ± 1.1, GAN 225 ± 2. The estimate is known to be a poor proxy of the
  true likelihood (Theis, van den Oord & Bethge 2016) but it is the one of those tables.
* :func:`mmd` — the unbiased estimate of MMD² with a sum of Gaussian kernels of several
  bandwidths (Gretton et al. 2012, eq. 3; Li, Swersky & Zemel 2015), for toy data whose true
  sampler is known: two samples of the same distribution give ≈ 0 (negative values happen).

All three are computed in float64, in blocks over both the evaluated points and the samples, so
memory stays bounded (about ``batch_size²`` numbers at a time) whatever the data size; the
log-sum-exp is taken per block and the blocks' results combined by another log-sum-exp, so no
exp over- or underflows for large d and small σ.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from .utils.validation import check_positive, check_positive_int

__all__ = [
    "parzen_log_likelihoods",
    "parzen_log_likelihood",
    "select_parzen_sigma",
    "mmd",
    "PARZEN_SIGMAS",
    "MMD_BANDWIDTHS",
]

#: The σ grid of the GAN paper's Parzen code: 10 values from 0.1 to 1, geometric.
PARZEN_SIGMAS = np.logspace(-1, 0, 10)

#: Default MMD bandwidths, suited to the toy 2-D densities of :mod:`daekit.datasets.toy`.
MMD_BANDWIDTHS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def _as_matrix(a: Any, name: str) -> Tensor:
    """``a`` (array or tensor, (n, d) or (n, ...)) as a float64 (n, d) tensor."""
    if isinstance(a, Tensor):
        t = a.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(a))
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an array or a tensor, got {type(a).__name__}") from None
    if t.dim() < 2 or t.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n, d), got shape {tuple(t.shape)}")
    t = t.reshape(t.shape[0], -1).to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _check_same_d(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{name_a} and {name_b} must have the same number of features, got {a.shape[1]} and {b.shape[1]}")


def _sq_dists(x: Tensor, y: Tensor, y_sq: Tensor) -> Tensor:
    """‖xᵢ − yⱼ‖² (B, M) in float64 via ‖x‖² + ‖y‖² − 2⟨x, y⟩, clamped at 0."""
    d = x.square().sum(1, keepdim=True) + y_sq[None, :] - 2.0 * (x @ y.t())
    return d.clamp_min_(0.0)


def _check_sigmas(sigmas: Any) -> np.ndarray:
    values = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"sigmas must be a non-empty sequence of finite values > 0, got {sigmas!r}")
    return values


def _parzen_ll_matrix(samples: Tensor, points: Tensor, sigmas: np.ndarray, batch_size: int) -> Tensor:
    """log p_σ(x) for every point and σ: (n_points, n_sigmas), float64 (distances shared by all σ)."""
    n, d = samples.shape
    inv_two_var = torch.as_tensor(1.0 / (2.0 * sigmas**2), dtype=torch.float64, device=samples.device)
    const = torch.as_tensor(-math.log(n) - d * np.log(sigmas * math.sqrt(2 * math.pi)), dtype=torch.float64,
                            device=samples.device)
    s_sq = samples.square().sum(1)
    rows = []
    for start in range(0, points.shape[0], batch_size):
        x = points[start:start + batch_size]
        parts = []
        for s0 in range(0, n, batch_size):
            dist = _sq_dists(x, samples[s0:s0 + batch_size], s_sq[s0:s0 + batch_size])  # (B, M)
            # (B, n_sigmas): log Σ_i exp(−‖x − s_i‖²/2σ²) over this block of samples
            parts.append(torch.stack([torch.logsumexp(-dist * c, dim=1) for c in inv_two_var], dim=1))
        rows.append(torch.logsumexp(torch.stack(parts, dim=0), dim=0) + const)
    return torch.cat(rows, dim=0)


def parzen_log_likelihoods(samples: Any, test: Any, sigma: float, batch_size: int = 1000) -> np.ndarray:
    """Per-point Parzen log-likelihoods log p(x) of ``test`` (n,) under the window of width
    ``sigma`` on ``samples`` (see the module docstring), float64."""
    s = _as_matrix(samples, "samples")
    x = _as_matrix(test, "test").to(s.device)
    _check_same_d(s, x, "samples", "test")
    sigma = check_positive(sigma, "sigma")
    batch_size = check_positive_int(batch_size, "batch_size")
    return _parzen_ll_matrix(s, x, np.array([sigma]), batch_size)[:, 0].cpu().numpy()


def parzen_log_likelihood(samples: Any, test: Any, sigma: float, batch_size: int = 1000) -> tuple[float, float]:
    """Mean Parzen log-likelihood of ``test`` and its standard error std/√n (GAN protocol).

    Parameters
    ----------
    samples : array-like (N, d) or (N, ...)
        Draws of the model (the protocol uses 10,000).
    test : array-like (n, d)
        Held-out points (the 10,000 MNIST test images).
    sigma : float
        Window width, chosen with :func:`select_parzen_sigma` on validation data.
    batch_size : int
        Block size over both ``test`` and ``samples`` (memory ≈ batch_size² float64 numbers).

    Returns
    -------
    (mean, std_error) in nats.
    """
    ll = parzen_log_likelihoods(samples, test, sigma, batch_size)
    return float(ll.mean()), float(ll.std() / math.sqrt(len(ll)))


def select_parzen_sigma(samples: Any, valid: Any, sigmas: Sequence[float] | np.ndarray = PARZEN_SIGMAS,
                        batch_size: int = 1000, return_scores: bool = False) -> float | tuple[float, np.ndarray]:
    """The σ of ``sigmas`` with the highest mean Parzen log-likelihood of ``valid`` (GAN protocol:
    ``np.logspace(-1, 0, 10)``, the first 1,000 of MNIST training examples 50,000–60,000).

    The distances are computed once and shared by all σ. With ``return_scores`` also returns the
    mean log-likelihood for each σ.
    """
    s = _as_matrix(samples, "samples")
    v = _as_matrix(valid, "valid").to(s.device)
    _check_same_d(s, v, "samples", "valid")
    grid = _check_sigmas(sigmas)
    batch_size = check_positive_int(batch_size, "batch_size")
    scores = _parzen_ll_matrix(s, v, grid, batch_size).mean(0).cpu().numpy()
    best = float(grid[int(np.argmax(scores))])
    return (best, scores) if return_scores else best


def _kernel_sum(a: Tensor, b: Tensor, inv_two_var: Tensor, batch_size: int) -> float:
    """Σᵢⱼ k(aᵢ, bⱼ) with k = mean over bandwidths of exp(−‖a − b‖²/2h²), float64, in blocks."""
    b_sq = b.square().sum(1)
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for i in range(0, a.shape[0], batch_size):
        x = a[i:i + batch_size]
        for j in range(0, b.shape[0], batch_size):
            dist = _sq_dists(x, b[j:j + batch_size], b_sq[j:j + batch_size])
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
    a = _as_matrix(x, "x")
    b = _as_matrix(y, "y").to(a.device)
    _check_same_d(a, b, "x", "y")
    m, n = a.shape[0], b.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"mmd needs at least 2 points in x and in y, got {m} and {n}")
    h = _check_sigmas(bandwidths)
    batch_size = check_positive_int(batch_size, "batch_size")
    inv_two_var = torch.as_tensor(1.0 / (2.0 * h**2), dtype=torch.float64, device=a.device)
    # k(a, a) = 1 for every bandwidth: drop the diagonal by subtracting m (resp. n)
    kxx = (_kernel_sum(a, a, inv_two_var, batch_size) - m) / (m * (m - 1))
    kyy = (_kernel_sum(b, b, inv_two_var, batch_size) - n) / (n * (n - 1))
    kxy = _kernel_sum(a, b, inv_two_var, batch_size) / (m * n)
    return kxx + kyy - 2.0 * kxy
