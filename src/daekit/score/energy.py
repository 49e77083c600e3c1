"""The tied sigmoid DAE as an energy model, and the score estimates of DAEs (Vincent 2011, §4, Proposition 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.dae import DAE
from ..utils.validation import check_choice
from ._checks import ScoreFn, check_x, rows, sigma_value

__all__ = ["energy", "score", "reconstruction_score", "dae_score_fn"]


def _check_energy_model(model: Any) -> DAE:
    if not isinstance(model, DAE):
        raise TypeError(f"model must be a daekit.DAE, got {type(model).__name__}")
    if not model.tied_weights:
        raise ValueError(
            "model must have tied weights (W' = Wᵀ): the energy of Vincent (2011, "
            "Proposition 2) exists only for the tied DAE"
        )
    if model.config.activation != "sigmoid":
        raise ValueError(
            f"model must use the sigmoid activation for the energy of Vincent (2011, "
            f"Proposition 2), got activation={model.config.activation!r}"
        )
    return model


def energy(model: DAE, x: Tensor, sigma: float) -> Tensor:
    """E(x; θ) = −(⟨c, x⟩ − ½‖x‖² + Σᵢ softplus(⟨Wᵢ, x⟩ + bᵢ))/σ², per example (N,).

    The energy of the tied sigmoid DAE (Vincent 2011, Proposition 2); p(x; θ) ∝ exp(−E(x; θ)).
    Its score −∇ₓE is :func:`score`, which equals the DAE's reconstruction score (r(x) − x)/σ²
    when the decoder is linear (``reconstruction="gaussian"``). Raises ``ValueError`` for an
    untied or non-sigmoid DAE.
    """
    model = _check_energy_model(model)
    sigma = sigma_value(sigma)
    flat = rows(check_x(x))
    pre = F.linear(flat, model.W, model.b)
    log_unnorm = flat @ model.c - 0.5 * flat.square().sum(dim=1) + F.softplus(pre).sum(dim=1)
    return -log_unnorm / sigma**2


def score(model: DAE, x: Tensor, sigma: float) -> Tensor:
    """Ψ(x; θ) = −∇ₓE(x; θ) = (Wᵀ sigmoid(Wx + b) + c − x)/σ² (Vincent 2011, Proposition 2).

    Closed form, shaped like ``x``. Raises ``ValueError`` for an untied or non-sigmoid DAE.
    """
    model = _check_energy_model(model)
    sigma = sigma_value(sigma)
    flat = rows(check_x(x))
    h = torch.sigmoid(F.linear(flat, model.W, model.b))
    return ((h @ model.W + model.c - flat) / sigma**2).reshape(x.shape)


def reconstruction_score(model: nn.Module | Callable[[Tensor], Tensor], x: Tensor, sigma: float) -> Tensor:
    """ψ(x) = (r(x) − x)/σ², r the reconstruction mean — the score estimate of any DAE trained
    with Gaussian corruption of level σ (Vincent 2011, §4; Alain & Bengio 2014).

    ``model`` is a DAE (its ``reconstruct`` is used) or any callable x ↦ r(x).
    """
    sigma = sigma_value(sigma)
    check_x(x)
    if hasattr(model, "reconstruct"):
        r = cast(Callable[[Tensor], Tensor], model.reconstruct)(x)
    else:
        r = model(x)
    return (r.reshape(x.shape) - x) / sigma**2


def dae_score_fn(model: DAE, sigma: float, method: str = "energy") -> ScoreFn:
    """The score function x ↦ Ψ(x) of a DAE: ``method="energy"`` uses :func:`score` (tied
    sigmoid DAE), ``"reconstruction"`` uses :func:`reconstruction_score` (any DAE)."""
    check_choice(method, "method", ("energy", "reconstruction"))
    sigma = sigma_value(sigma)
    if method == "energy":
        _check_energy_model(model)
        return lambda x: score(model, x, sigma)
    return lambda x: reconstruction_score(model, x, sigma)
