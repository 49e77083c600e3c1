"""Shared pieces of the sample metrics: inputs as float64 matrices and blocked squared distances.

Distances are formed block by block (about ``batch_size²`` numbers at a time), so the memory of
every sample metric stays bounded whatever the data size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["as_matrix", "check_same_d", "sq_dists", "check_widths"]


def as_matrix(a: Any, name: str) -> Tensor:
    """``a`` (array or tensor, (n, d) or (n, ...)) as a finite float64 (n, d) tensor."""
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


def check_same_d(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    """ValueError naming both unless ``a`` and ``b`` have the same number of columns."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of features, got {a.shape[1]} and {b.shape[1]}"
        )


def sq_dists(x: Tensor, y: Tensor, y_sq: Tensor) -> Tensor:
    """‖xᵢ − yⱼ‖² (B, M) in float64 via ‖x‖² + ‖y‖² − 2⟨x, y⟩ (``y_sq`` = ‖y‖²), clamped at 0."""
    d = x.square().sum(1, keepdim=True) + y_sq[None, :] - 2.0 * (x @ y.t())
    return d.clamp_min_(0.0)


def check_widths(widths: Any, name: str) -> np.ndarray:
    """``widths`` (kernel widths σ or bandwidths h) as a non-empty float64 array of finite values > 0."""
    values = np.asarray(widths, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must be a non-empty sequence of finite values > 0, got {widths!r}")
    return values
