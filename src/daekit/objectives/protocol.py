"""The objective contract of :func:`daekit.training.loop.fit`.

An objective is any callable ``objective(model, batch, generator) -> scalar loss`` (:class:`Objective`):
``batch`` is a tuple of tensors (the rows of the training data for this step) and ``generator``
is the run's noise generator; the loop never draws noise itself. An objective may also offer

* a fused step (:class:`FusedSGDObjective`): the loss, its backward pass and a plain SGD update
  written out by hand, used instead of autograd + ``torch.optim.SGD`` when the model supports
  it (:class:`FusedSGDModel`) and the optimizer is plain SGD;
* a shard of itself (:class:`ShardableObjective`) for data-parallel training, drawing the same
  noise for a rank's rows as one process would for the whole batch;
* ``needs_grad`` (:class:`GradEvaluatedObjective`): whether evaluating it needs autograd (a
  divergence term, for instance).

The loop checks these with ``isinstance`` against the runtime-checkable protocols below.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn

__all__ = [
    "Objective",
    "FusedSGDObjective",
    "ShardableObjective",
    "GradEvaluatedObjective",
    "FusedSGDModel",
    "DenoisingModel",
    "ReconstructionDistribution",
    "supports_fused_sgd",
]


class Objective(Protocol):
    """``objective(model, batch, generator) -> scalar loss`` to minimize."""

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor: ...


@runtime_checkable
class FusedSGDObjective(Protocol):
    """An objective with a hand-written step: ``fused_sgd_step`` takes the same step as
    ``objective`` + backward + plain SGD at learning rate ``lr`` (same noise draws) and returns
    the loss; ``supports_fused(model)`` says whether it applies to ``model``."""

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor: ...

    def supports_fused(self, model: nn.Module) -> bool: ...

    def fused_sgd_step(
        self,
        model: nn.Module,
        batch: tuple[Tensor, ...],
        generator: torch.Generator,
        lr: float,
        compute_dtype: torch.dtype | None = None,
    ) -> Tensor: ...


@runtime_checkable
class ShardableObjective(Protocol):
    """An objective that can be restricted to rows [start, stop) of a global batch of
    ``global_size`` rows with the noise a single process would draw for those rows."""

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor: ...

    def sharded(self, start: int, stop: int, global_size: int) -> Objective: ...


@runtime_checkable
class GradEvaluatedObjective(Protocol):
    """An objective that declares whether evaluating it (validation) needs autograd."""

    needs_grad: bool


@runtime_checkable
class FusedSGDModel(Protocol):
    """A model with a hand-written SGD step on its own loss: ``fused_sgd_step(input, target, lr,
    compute_dtype)`` applies when ``supports_fused_sgd`` is true."""

    @property
    def supports_fused_sgd(self) -> bool: ...

    def fused_sgd_step(
        self, x: Tensor, target: Tensor, lr: float, compute_dtype: torch.dtype | None = None
    ) -> Tensor: ...


class DenoisingModel(Protocol):
    """A model the denoising criterion applies to: ``loss(x, x_tilde)`` is the batch mean of
    −log p(x | g(f(x̃))) (:meth:`daekit.models.dae.DAE.loss`)."""

    def loss(self, x: Tensor, x_tilde: Tensor) -> Tensor: ...


class ReconstructionDistribution(Protocol):
    """A model's reconstruction distribution p(x | params) (:mod:`daekit.distributions`)."""

    def loss(self, x: Tensor, params: Tensor) -> Tensor: ...

    def mean(self, params: Tensor) -> Tensor: ...

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor: ...


def supports_fused_sgd(model: nn.Module) -> bool:
    """Whether ``model`` has a hand-written SGD step that applies to it."""
    return isinstance(model, FusedSGDModel) and bool(model.supports_fused_sgd)
