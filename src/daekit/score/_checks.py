"""Argument checks and small tensor helpers shared by the score functions and objectives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import torch
from torch import Tensor

from ..utils.validation import check_positive

ScoreFn = Callable[[Tensor], Tensor]
TrueScore = Union[Tensor, ScoreFn]


def rows(t: Tensor) -> Tensor:
    """View a batch (N, ...) as (N, d)."""
    return t.reshape(t.shape[0], -1)


def sq_norm(t: Tensor) -> Tensor:
    """Per-example squared norm ‖t‖² of a batch (N, ...), shape (N,)."""
    return rows(t).square().sum(dim=1)


def check_x(x: Tensor, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of shape (N, d) or (N, ...), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def sigma_value(sigma: Any, name: str = "sigma") -> float:
    if isinstance(sigma, Tensor):
        if sigma.numel() != 1:
            raise ValueError(f"{name} must be a scalar here, got shape {tuple(sigma.shape)}")
        sigma = float(sigma)
    return check_positive(sigma, name)


def randn_like(x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def noise_like(x: Tensor, noise: Tensor | None, generator: torch.Generator | None) -> Tensor:
    if noise is None:
        return randn_like(x, generator)
    if not isinstance(noise, Tensor) or noise.shape != x.shape:
        raise ValueError(
            f"noise must be a tensor shaped like x {tuple(x.shape)}, got "
            f"{tuple(noise.shape) if isinstance(noise, Tensor) else type(noise).__name__}"
        )
    return noise.to(x)


def target_score(true_score: TrueScore, x: Tensor) -> Tensor:
    t = true_score(x) if callable(true_score) else true_score
    if not isinstance(t, Tensor) or t.shape != x.shape:
        raise ValueError(f"true_score must be a tensor shaped like x {tuple(x.shape)} or a callable returning one")
    return t.to(x)
