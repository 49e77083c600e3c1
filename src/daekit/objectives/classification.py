"""The supervised criterion of fine-tuning (Vincent et al. 2010, §3.5)."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .protocol import FusedSGDModel, supports_fused_sgd

__all__ = ["ClassificationObjective"]


class ClassificationObjective:
    """Supervised fine-tuning criterion: the cross-entropy −log softmax(logits)[y], from logits
    (Vincent et al. 2010, §3.5). ``batch`` is ``(x, y)`` with integer labels."""

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x, y = batch[0], batch[1]
        return F.cross_entropy(model(x), y)

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
        """The same step as this objective + backward + plain SGD, written out by hand
        (:meth:`daekit.models.stacked.StackedNetwork.fused_sgd_step`)."""
        return cast(FusedSGDModel, model).fused_sgd_step(batch[0], batch[1], lr, compute_dtype)
