"""Reconstruction distributions p_decoder(x | h).

The decoder of a DAE emits the parameters of p(x | h = f(x̃)); training minimizes
−log p_decoder(x | h) (Deep Learning book §14.5; Vincent et al. 2010, §2.3 and eq. 1–2).
Every method takes the decoder's raw output ``params`` and returns per-example values (N,).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Bernoulli", "Gaussian", "MixedTypeLikelihood", "get_distribution", "DISTRIBUTIONS"]


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
    def columnwise_loss(x: Tensor, logits: Tensor) -> Tensor:
        """The cross-entropy of every component, (N, d)."""
        return F.binary_cross_entropy_with_logits(logits, x.reshape(logits.shape), reduction="none")

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


class MixedTypeLikelihood:
    """Independent heads over the columns of a mixed-type table, encoded side by side: a Gaussian
    N(x_j; μ_j, σ_j²) for each numeric column and a categorical softmax over each one-hot block.

    ``numeric`` holds the encoded positions of the numeric columns and ``blocks`` the half-open
    ranges [start, stop) of the one-hot blocks; ``column_of`` maps every encoded position to its
    source column (0 … n_columns − 1). The loss of a row is the sum over its columns of
    −log p (up to the Gaussian's constant): ½ (x_j − μ_j)² / σ_j² for numeric columns, the
    cross-entropy −Σ_k x_k log softmax(a)_k for categorical ones — squared error plus softmax
    cross-entropy, the loss of the mixed-type DAEs (e.g. Jahrer 2018; Gondara & Wang 2018).
    σ² defaults to 1; :meth:`with_variances` sets it (e.g. from held-out residuals).
    """

    name = "mixed"

    def __init__(
        self,
        numeric: Sequence[int],
        blocks: Sequence[tuple[int, int]],
        n_columns: int,
        column_of: Sequence[int],
        variances: Sequence[float] | None = None,
    ) -> None:
        self.numeric = torch.as_tensor(list(numeric), dtype=torch.long)
        self.blocks = [(int(a), int(b)) for a, b in blocks]
        self.n_columns = int(n_columns)
        self.column_of = torch.as_tensor(list(column_of), dtype=torch.long)
        self.variances = (
            torch.ones(len(self.numeric))
            if variances is None
            else torch.as_tensor(list(variances), dtype=torch.float32)
        )
        if len(self.variances) != len(self.numeric) or bool((self.variances <= 0).any()):
            raise ValueError("variances must hold one positive value per numeric column")
        self._numeric_cols = self.column_of[self.numeric]
        self._block_cols = [int(self.column_of[a]) for a, _ in self.blocks]

    def with_variances(self, variances: Sequence[float]) -> MixedTypeLikelihood:
        """The same heads with the numeric columns' variances σ_j² set to ``variances``."""
        return MixedTypeLikelihood(
            self.numeric.tolist(), self.blocks, self.n_columns, self.column_of.tolist(), variances
        )

    def columnwise_loss(self, x: Tensor, params: Tensor) -> Tensor:
        """−log p of every source column, (N, n_columns) (the Gaussian's ½ log 2πσ² left out)."""
        out = params.new_zeros(params.shape[0], self.n_columns)
        if len(self.numeric):
            idx = self.numeric.to(params.device)
            var = self.variances.to(params.device, params.dtype)
            sq = 0.5 * (x[:, idx] - params[:, idx]).square() / var
            out.index_copy_(1, self._numeric_cols.to(params.device), sq)
        for (a, b), col in zip(self.blocks, self._block_cols):
            logp = torch.log_softmax(params[:, a:b], dim=1)
            out[:, col] = -(x[:, a:b] * logp).sum(dim=1)
        return out

    def loss(self, x: Tensor, params: Tensor) -> Tensor:
        return self.columnwise_loss(x.reshape(params.shape), params).sum(dim=1)

    def nll(self, x: Tensor, params: Tensor) -> Tensor:
        const = 0.5 * torch.log(2 * math.pi * self.variances).sum().to(params.device, params.dtype)
        return self.loss(x, params) + const

    def mean(self, params: Tensor) -> Tensor:
        """μ for numeric columns and the class probabilities softmax(a) for each block."""
        out = params.clone()
        for a, b in self.blocks:
            out[:, a:b] = torch.softmax(params[:, a:b], dim=1)
        return out

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One draw: μ_j + σ_j ε for numeric columns, a one-hot category from each softmax."""
        out = params.clone()
        if len(self.numeric):
            idx = self.numeric.to(params.device)
            noise = torch.randn(
                (params.shape[0], len(idx)), generator=generator, device=params.device, dtype=params.dtype
            )
            out[:, idx] = params[:, idx] + noise * self.variances.to(params.device, params.dtype).sqrt()
        for a, b in self.blocks:
            pick = torch.multinomial(torch.softmax(params[:, a:b], dim=1), 1, generator=generator)
            out[:, a:b] = F.one_hot(pick[:, 0], b - a).to(params.dtype)
        return out
