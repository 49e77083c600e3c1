"""Conditional sampling (inpainting) by clamping the observed components.

Every sampler takes ``mask`` (bool, True = observed, shaped like ``x0`` or broadcastable to it,
e.g. one (d,) mask for all examples) and ``observed`` (the clamped values; default: those of
``x0``). The observed components are set before the first step and after every step, so they
never move.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["Clamp", "prepare_clamp", "clamp_observed"]

#: A clamp: the full-shape bool mask (True = observed) and the observed values.
Clamp = tuple[Tensor, Tensor]


def prepare_clamp(x0: Tensor, mask: Tensor | None, observed: Tensor | None) -> Clamp | None:
    """Validate ``mask``/``observed`` and broadcast them to ``x0``'s shape (None if no mask)."""
    if mask is None:
        if observed is not None:
            raise ValueError("observed was given without mask; pass mask (bool, True = observed) too")
        return None
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be a bool tensor (True = observed), got "
            f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}"
        )
    try:
        full_mask = torch.broadcast_to(mask.to(x0.device), x0.shape)
    except RuntimeError:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to x0's shape {tuple(x0.shape)}"
        ) from None
    if observed is None:
        values = x0
    else:
        values = torch.as_tensor(observed)
        try:
            values = torch.broadcast_to(values.to(device=x0.device, dtype=x0.dtype), x0.shape)
        except RuntimeError:
            raise ValueError(
                f"observed of shape {tuple(values.shape)} does not broadcast to x0's shape {tuple(x0.shape)}"
            ) from None
    return full_mask, values.clone()


def clamp_observed(x: Tensor, clamp: Clamp | None) -> Tensor:
    """x with the observed components (mask True) replaced by their observed values."""
    if clamp is None:
        return x
    mask, values = clamp
    return torch.where(mask, values, x)
