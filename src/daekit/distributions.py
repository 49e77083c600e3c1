"""Reconstruction distributions p_decoder(x | h).

The decoder of a DAE emits the parameters of p(x | h = f(x̃)); training minimizes
−log p_decoder(x | h) (Deep Learning book §14.5; Vincent et al. 2010, §2.3 and eq. 1–2).
Every method takes the decoder's raw output ``params`` and returns per-example values (N,).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Bernoulli", "Gaussian", "get_distribution", "DISTRIBUTIONS"]


def _sum_per_example(t: Tensor) -> Tensor:
    return t.reshape(t.shape[0], -1).sum(dim=1) if t.dim() > 1 else t.sum().reshape(1)


class Bernoulli:
    """Independent Bernoulli components, parameterized by logits a: p = sigmoid(a).

    ``loss`` is the cross-entropy L_H(x, z) = −Σ [x log z + (1−x) log(1−z)] of Vincent et al.
    (2010, eq. 2), computed from the logits without forming log(sigmoid) by hand. It is the
    exact −log p for binary x and the paper's loss for x in [0, 1].
    """

    name = "bernoulli"

    @staticmethod
    def loss(x: Tensor, logits: Tensor) -> Tensor:
        return _sum_per_example(F.binary_cross_entropy_with_logits(logits, x, reduction="none"))

    nll = loss

    @staticmethod
    def mean(logits: Tensor) -> Tensor:
        return torch.sigmoid(logits)

    @staticmethod
    def sample(logits: Tensor, generator: torch.Generator | None = None) -> Tensor:
        u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
        return (u < torch.sigmoid(logits)).to(logits.dtype)


class Gaussian:
    """Independent unit-variance Gaussian components, parameterized by their mean μ.

    ``loss`` is the squared error L_2(x, z) = ‖x − z‖² of Vincent et al. (2010, §2.3) — the term
    of J_DAE in Vincent (2011) — and ``nll`` is −log N(x; μ, I) = ½‖x − μ‖² + (d/2) log 2π.
    """

    name = "gaussian"

    @staticmethod
    def loss(x: Tensor, mean: Tensor) -> Tensor:
        return _sum_per_example((x - mean).square())

    @staticmethod
    def nll(x: Tensor, mean: Tensor) -> Tensor:
        d = x[0].numel() if x.dim() > 1 else x.numel()
        return 0.5 * _sum_per_example((x - mean).square()) + 0.5 * d * math.log(2 * math.pi)

    @staticmethod
    def mean(mean: Tensor) -> Tensor:
        return mean

    @staticmethod
    def sample(mean: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return mean + torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)


DISTRIBUTIONS: dict[str, type[Bernoulli | Gaussian]] = {"bernoulli": Bernoulli, "gaussian": Gaussian}


def get_distribution(name: str) -> type[Bernoulli] | type[Gaussian]:
    """The reconstruction distribution called ``name`` ("bernoulli" or "gaussian")."""
    try:
        return DISTRIBUTIONS[name]
    except KeyError:
        raise ValueError(f"reconstruction must be one of {sorted(DISTRIBUTIONS)}, got {name!r}") from None
