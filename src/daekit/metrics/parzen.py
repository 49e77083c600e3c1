"""Parzen-window log-likelihood of a sampler: the protocol of Bengio et al. (2013, 2014, GSN)
and Goodfellow et al. (2014, GAN, Table 1).

Fit an isotropic Gaussian Parzen window of width σ to N samples,

    log p(x) = logsumexp_i(−‖x − s_i‖²/2σ²) − log N − d·log(σ√(2π)),

choose σ on a validation set (for MNIST: the first 1,000 of training examples 50,000–60,000,
σ from ``np.logspace(-1, 0, 10)``), and report the mean log-likelihood of the test set (the
10,000 MNIST test images) with its standard error std/√n (numpy's std, ddof = 0, as the GAN
code does). The published MNIST numbers use 10,000 samples: DBN 138 ± 2, stacked CAE
121 ± 1.6, deep GSN 214 ± 1.1, GAN 225 ± 2. The estimate is known to be a poor proxy of the
true likelihood (Theis, van den Oord & Bethge 2016) but it is the one of those tables.

Computed in float64, in blocks over both the evaluated points and the samples (memory about
``batch_size²`` numbers); the log-sum-exp is taken per block and the blocks' results combined by
another log-sum-exp, so no exp over- or underflows for large d and small σ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import torch
from torch import Tensor

from ..utils.validation import check_positive, check_positive_int
from ._blocks import as_matrix, check_same_d, check_widths, sq_dists

__all__ = ["PARZEN_SIGMAS", "parzen_log_likelihoods", "parzen_log_likelihood", "select_parzen_sigma"]

#: The σ grid of the GAN paper's Parzen code: 10 values from 0.1 to 1, geometric.
PARZEN_SIGMAS = np.logspace(-1, 0, 10)


def _parzen_ll_matrix(samples: Tensor, points: Tensor, sigmas: np.ndarray, batch_size: int) -> Tensor:
    """log p_σ(x) for every point and σ: (n_points, n_sigmas), float64 (distances shared by all σ)."""
    n, d = samples.shape
    inv_two_var = torch.as_tensor(1.0 / (2.0 * sigmas**2), dtype=torch.float64, device=samples.device)
    const = torch.as_tensor(
        -math.log(n) - d * np.log(sigmas * math.sqrt(2 * math.pi)), dtype=torch.float64, device=samples.device
    )
    s_sq = samples.square().sum(1)
    rows = []
    for start in range(0, points.shape[0], batch_size):
        x = points[start : start + batch_size]
        parts = []
        for s0 in range(0, n, batch_size):
            dist = sq_dists(x, samples[s0 : s0 + batch_size], s_sq[s0 : s0 + batch_size])  # (B, M)
            # (B, n_sigmas): log Σ_i exp(−‖x − s_i‖²/2σ²) over this block of samples
            parts.append(torch.stack([torch.logsumexp(-dist * c, dim=1) for c in inv_two_var], dim=1))
        rows.append(torch.logsumexp(torch.stack(parts, dim=0), dim=0) + const)
    return torch.cat(rows, dim=0)


def parzen_log_likelihoods(samples: Any, test: Any, sigma: float, batch_size: int = 1000) -> np.ndarray:
    """Per-point Parzen log-likelihoods log p(x) of ``test`` (n,) under the window of width
    ``sigma`` on ``samples`` (see the module docstring), float64."""
    s = as_matrix(samples, "samples")
    x = as_matrix(test, "test").to(s.device)
    check_same_d(s, x, "samples", "test")
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


@overload
def select_parzen_sigma(
    samples: Any,
    valid: Any,
    sigmas: Sequence[float] | np.ndarray = ...,
    batch_size: int = ...,
    return_scores: Literal[False] = ...,
) -> float: ...


@overload
def select_parzen_sigma(
    samples: Any,
    valid: Any,
    sigmas: Sequence[float] | np.ndarray = ...,
    batch_size: int = ...,
    *,
    return_scores: Literal[True],
) -> tuple[float, np.ndarray]: ...


@overload
def select_parzen_sigma(
    samples: Any,
    valid: Any,
    sigmas: Sequence[float] | np.ndarray = ...,
    batch_size: int = ...,
    return_scores: bool = ...,
) -> float | tuple[float, np.ndarray]: ...


def select_parzen_sigma(
    samples: Any,
    valid: Any,
    sigmas: Sequence[float] | np.ndarray = PARZEN_SIGMAS,
    batch_size: int = 1000,
    return_scores: bool = False,
) -> float | tuple[float, np.ndarray]:
    """The σ of ``sigmas`` with the highest mean Parzen log-likelihood of ``valid`` (GAN protocol:
    ``np.logspace(-1, 0, 10)``, the first 1,000 of MNIST training examples 50,000–60,000).

    The distances are computed once and shared by all σ. With ``return_scores`` also returns the
    mean log-likelihood for each σ.
    """
    s = as_matrix(samples, "samples")
    v = as_matrix(valid, "valid").to(s.device)
    check_same_d(s, v, "samples", "valid")
    grid = check_widths(sigmas, "sigmas")
    batch_size = check_positive_int(batch_size, "batch_size")
    scores = _parzen_ll_matrix(s, v, grid, batch_size).mean(0).cpu().numpy()
    best = float(grid[int(np.argmax(scores))])
    return (best, scores) if return_scores else best
