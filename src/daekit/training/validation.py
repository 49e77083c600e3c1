"""Validation of a training phase: the objective's mean on held-out data, and the per-epoch
validation measurements of :func:`daekit.training.loop.fit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import torch
from torch import Tensor, nn

from ..objectives.protocol import GradEvaluatedObjective, Objective
from ..utils.runtime import make_generator

__all__ = ["evaluate_objective", "validate", "ValidMetric"]

#: ``(model, valid) -> score`` (lower is better), or ``{"score": ..., "loss": ...}`` from one pass.
ValidMetric = Callable[[nn.Module, tuple[Tensor, ...]], float | Mapping[str, float]]


def _batches(data: tuple[Tensor, ...], batch_size: int) -> Iterable[tuple[Tensor, ...]]:
    n = len(data[0])
    for start in range(0, n, batch_size):
        yield tuple(t[start : start + batch_size] for t in data)


def evaluate_objective(
    model: nn.Module, objective: Objective, data: tuple[Tensor, ...], seed: int, batch_size: int = 1000
) -> float:
    """Mean of ``objective`` over ``data`` with a fixed noise seed (comparable across epochs)."""
    device = data[0].device
    generator = make_generator(seed, device)
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    needs_grad = isinstance(objective, GradEvaluatedObjective) and bool(objective.needs_grad)
    with torch.set_grad_enabled(needs_grad):
        for batch in _batches(data, batch_size):
            total += float(objective(model, batch, generator).detach()) * len(batch[0])
            n += len(batch[0])
    model.train(was_training)
    return total / max(n, 1)


def validate(
    model: nn.Module,
    objective: Objective,
    valid: tuple[Tensor, ...],
    valid_metric: ValidMetric | None,
    seed: int,
    batch_size: int,
) -> dict[str, float]:
    """The validation entries of an epoch's record: ``valid_score`` when there is a
    ``valid_metric``, and ``valid_loss`` — the metric's own ``"loss"`` when it returns a mapping,
    else :func:`evaluate_objective` with noise seed ``seed``."""
    measured: dict[str, float] = {}
    if valid_metric is not None:
        result = valid_metric(model, valid)
        if isinstance(result, Mapping):  # the score and the loss from one pass
            measured["valid_loss"], measured["valid_score"] = float(result["loss"]), float(result["score"])
        else:
            measured["valid_score"] = float(result)
    if "valid_loss" not in measured:
        measured["valid_loss"] = evaluate_objective(model, objective, valid, seed, batch_size)
    return measured
