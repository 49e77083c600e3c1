"""Walkback training of a denoising autoencoder (Bengio, Yao, Alain & Vincent 2013, §3.2).

The DAE chain of :func:`daekit.sampling.dae_chain` can wander into regions the training pairs
(x, x̃ ~ C(x̃ | x)) never visit, where P_θ(x | x̃) was never taught and spurious modes survive.
Walkback starts from each clean training example x, lets the model itself walk away —
x̃₁ ~ C(x̃ | x), x*₁ ~ P_θ(x | x̃₁), x̃₂ ~ C(x̃ | x*₁), … — and asks every reconstruction to
point back to x:

    J_walkback = (1/k) Σ_{j=1..k} −log P_θ(x | x̃_j)

The samples x*_j are drawn from the model without a gradient (they are treated as data). With
k = 1 it is exactly :class:`daekit.objectives.denoising.DenoisingObjective` (same draws from the same
generator). Bengio et al. stop the walk with a geometric number of steps; here k is fixed and the
k losses are averaged, as in the GSN code's walkback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn

from ..utils.validation import check_positive_int
from .protocol import ReconstructionDistribution

__all__ = ["WalkbackObjective"]


class WalkbackObjective:
    """``objective(model, batch, generator) -> loss`` for :func:`daekit.training.loop.fit`.

    Parameters
    ----------
    corruption : callable (x, generator) -> x̃
        The corruption process C(x̃ | x).
    k : int
        Walkback steps per example (k = 1 is ordinary denoising training).
    sample : bool
        Continue the walk from a draw x* ~ P_θ(x | x̃) (True, the paper's) or from the
        reconstruction mean (False).
    """

    def __init__(self, corruption: Callable[..., Tensor], k: int = 1, sample: bool = True) -> None:
        if not callable(corruption):
            raise TypeError(f"corruption must be callable (x, generator) -> x_tilde, got {corruption!r}")
        self.corruption = corruption
        self.k = check_positive_int(k, "k")
        self.sample = bool(sample)

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x = batch[0]
        distribution = cast(ReconstructionDistribution, model.distribution)
        current = x
        total: Tensor | None = None
        for step in range(self.k):
            params = model(self.corruption(current, generator))
            loss = distribution.loss(x.reshape(params.shape), params).mean()
            total = loss if total is None else total + loss
            if step + 1 < self.k:  # no draw after the last reconstruction (k = 1 draws like DenoisingObjective)
                with torch.no_grad():
                    nxt = distribution.sample(params, generator) if self.sample else distribution.mean(params)
                current = nxt.detach().reshape(x.shape)
        assert total is not None
        return total / self.k

    def __repr__(self) -> str:
        return f"WalkbackObjective(corruption={self.corruption!r}, k={self.k}, sample={self.sample})"
