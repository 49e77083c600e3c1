"""What every sampler shares: input checks, eval mode for the run, and the kept trajectory."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from ..utils.validation import check_positive_int

__all__ = ["check_x0", "check_output", "eval_mode", "Trajectory"]


def check_x0(x0: Any) -> Tensor:
    """``x0`` if it is a non-empty floating-point batch, else TypeError/ValueError naming x0."""
    if not isinstance(x0, Tensor):
        raise TypeError(f"x0 must be a torch.Tensor, got {type(x0).__name__}")
    if x0.dim() < 1 or x0.shape[0] == 0:
        raise ValueError(f"x0 must be a non-empty batch (N, d) or (N, ...), got shape {tuple(x0.shape)}")
    if not x0.is_floating_point():
        raise TypeError(f"x0 must be a floating-point tensor, got {x0.dtype}")
    return x0


def check_output(out: Any, x: Tensor, what: str) -> Tensor:
    """``out`` reshaped to ``x``'s shape and dtype; ValueError naming ``what`` if it has another size."""
    if not isinstance(out, Tensor) or out.numel() != x.numel():
        raise ValueError(
            f"{what} must return a tensor with the shape of x {tuple(x.shape)}, got "
            f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}"
        )
    return out.reshape(x.shape).to(x.dtype)


@contextlib.contextmanager
def eval_mode(*objects: Any) -> Iterator[None]:
    """Put the ``nn.Module`` objects among ``objects`` in eval mode, restore their modes after."""
    modules = [m for m in objects if isinstance(m, nn.Module)]
    states = [[(sub, sub.training) for sub in m.modules()] for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for per_module in states:
            for sub, training in per_module:
                sub.training = training


class Trajectory:
    """Collects x0, every ``every``-th state and the last state (for ``return_all``)."""

    def __init__(self, enabled: bool, every: int, x0: Tensor) -> None:
        self.enabled, self.every = enabled, check_positive_int(every, "every")
        self.states: list[Tensor] = [x0.clone()] if enabled else []
        self.last_kept = 0

    def add(self, step: int, x: Tensor, final: bool) -> None:
        if self.enabled and (step % self.every == 0 or final) and step != self.last_kept:
            self.states.append(x.clone())
            self.last_kept = step

    def result(self, x: Tensor) -> Tensor:
        return torch.stack(self.states) if self.enabled else x
