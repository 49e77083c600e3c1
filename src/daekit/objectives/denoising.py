"""The denoising criterion of a DAE (Vincent et al. 2010, §3.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn

from ..corruption import ShardedCorruption
from .protocol import DenoisingModel, FusedSGDModel, supports_fused_sgd

__all__ = ["DenoisingObjective"]


class DenoisingObjective:
    """J = E_{x, x̃ ~ C(x̃|x)} [−log p_decoder(x | f(x̃))]: corrupt, reconstruct, compare to the
    clean x (Vincent et al. 2010, §3.2; Deep Learning book §14.5). A
    :class:`~daekit.objectives.protocol.FusedSGDObjective` and a
    :class:`~daekit.objectives.protocol.ShardableObjective`."""

    def __init__(self, corruption: Callable[..., Tensor]) -> None:
        self.corruption = corruption

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x = batch[0]
        return cast(DenoisingModel, model).loss(x, self.corruption(x, generator))

    def sharded(self, start: int, stop: int, global_size: int) -> DenoisingObjective:
        """This objective for rows [start, stop) of a global batch, with the same corruption draws
        as one process corrupting the whole batch (data-parallel training)."""
        return DenoisingObjective(ShardedCorruption(self.corruption, start, stop, global_size))

    def supports_fused(self, model: nn.Module) -> bool:
        return supports_fused_sgd(model)

    def fused_sgd_step(
        self,
        model: nn.Module,
        batch: tuple[Tensor, ...],
        generator: torch.Generator,
        lr: float,
        compute_dtype: torch.dtype | None = None,
    ) -> Tensor:
        """The same step as ``objective`` + backward + plain SGD, with the model's hand-written
        gradient (:meth:`daekit.models.dae.DAE.fused_sgd_step`); same corruption draws."""
        x = batch[0]
        return cast(FusedSGDModel, model).fused_sgd_step(x, self.corruption(x, generator), lr, compute_dtype)
