"""Corruption and training objective over the source columns of an encoded table.

A one-hot block is one column of the source table, so the corruption draws one decision per
source column and applies it to the whole block. Entries missing from the data are never
targets: the objective sums the reconstruction loss over observed entries only, and the
missing ones enter the encoder as 0 like masked ones (the scheme of MIDAS, Lall & Robinson 2022).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn

from ..corruption import Masking, SwapNoise
from ..distributions import Bernoulli, MixedTypeLikelihood

__all__ = ["COLUMN_CORRUPTIONS", "ColumnCorruption", "ObservedEntriesObjective"]

COLUMN_CORRUPTIONS = ("masking", "swap", "none")


class ColumnCorruption:
    """Masking noise (the column set to 0) or :class:`~daekit.corruption.SwapNoise` (the column
    taken from another row of the batch), drawn once per source column with probability
    ``level`` and applied to all its encoded positions ``column_of``."""

    def __init__(self, kind: str, level: float, column_of: Tensor) -> None:
        if kind not in COLUMN_CORRUPTIONS:
            raise ValueError(f"corruption must be one of {list(COLUMN_CORRUPTIONS)}, got {kind!r}")
        self.kind, self.level = kind, float(level)
        self.column_of = torch.as_tensor(column_of, dtype=torch.long)
        self.n_columns = int(self.column_of.max()) + 1 if len(self.column_of) else 0

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.draw(x, generator)[0]

    def draw(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(x̃, hit): the corrupted rows and which source columns (n, n_columns) were corrupted."""
        n = x.shape[0]
        if self.kind == "none" or self.level == 0.0:
            return x.clone(), torch.zeros(n, self.n_columns, dtype=torch.bool, device=x.device)
        cols = self.column_of.to(x.device)
        if self.kind == "masking":
            keep = Masking(self.level, exact=False)(torch.ones(n, self.n_columns, device=x.device), generator)
            return x * keep[:, cols].to(x.dtype), keep == 0
        rows = torch.arange(n, device=x.device, dtype=torch.float64).unsqueeze(1).expand(n, self.n_columns)
        donor_rows = SwapNoise(self.level)(rows, generator)
        return torch.gather(x, 0, donor_rows.long()[:, cols]), donor_rows != rows

    def __repr__(self) -> str:
        return f"ColumnCorruption({self.kind!r}, {self.level!r})"


class ObservedEntriesObjective:
    """J = E [Σ_j o_j w_j · (−log p_j(x_j | f(x̃)))]: the denoising loss of the model's
    reconstruction distribution (``model.distribution.columnwise_loss``) summed over the observed
    source columns (o_j = 1) of each row; batches are (x, observed) with missing entries encoded
    as 0. w_j = 1 on corrupted columns and ``uncorrupted_weight`` on the others (the emphasized
    denoising criterion of Vincent et al. 2010, §4.3; 1 gives the plain criterion)."""

    def __init__(self, corruption: ColumnCorruption, uncorrupted_weight: float = 1.0) -> None:
        self.corruption = corruption
        self.uncorrupted_weight = float(uncorrupted_weight)

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x, observed = batch[0], batch[1]
        x_tilde, hit = self.corruption.draw(x, generator)
        # a table DAE reconstructs with a Bernoulli or a MixedTypeLikelihood, never a plain Gaussian
        distribution = cast("type[Bernoulli] | MixedTypeLikelihood", model.distribution)
        losses = distribution.columnwise_loss(x, model(x_tilde))
        weight = observed.to(losses.dtype)
        if self.uncorrupted_weight != 1.0:
            weight = weight * torch.where(hit, 1.0, self.uncorrupted_weight).to(losses.dtype)
        return (losses * weight).sum(dim=1).mean()
