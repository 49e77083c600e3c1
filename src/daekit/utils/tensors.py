"""Small tensor-shape helpers."""

from __future__ import annotations

import torch

__all__ = ["per_example"]


def per_example(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-example vector (N,) so that it broadcasts against ``like`` (N, ...)."""
    return values.reshape(values.shape[0], *([1] * (like.dim() - 1)))
