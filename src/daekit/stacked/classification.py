"""The supervised criterion of fine-tuning and the error and cross-entropy of a classifier."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ClassificationObjective:
    """Supervised fine-tuning criterion: the cross-entropy −log softmax(logits)[y], from logits
    (Vincent et al. 2010, §3.5). ``batch`` is ``(x, y)`` with integer labels."""

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x, y = batch[0], batch[1]
        return F.cross_entropy(model(x), y)

    def supports_fused(self, model: nn.Module) -> bool:
        return bool(getattr(model, "supports_fused_sgd", False))

    def fused_sgd_step(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator, lr: float,
                       compute_dtype: torch.dtype | None = None) -> Tensor:
        """The same step as this objective + backward + plain SGD, written out by hand
        (:meth:`StackedNetwork.fused_sgd_step`)."""
        return model.fused_sgd_step(batch[0], batch[1], lr, compute_dtype)


def classification_error_metric(model: nn.Module, data: tuple[Tensor, ...], chunk_size: int = 4096) -> float:
    """Fraction of misclassified examples of ``data = (x, y)``."""
    return classification_metrics(model, data, chunk_size)["score"]


def classification_metrics(model: nn.Module, data: tuple[Tensor, ...], chunk_size: int = 4096) -> dict[str, float]:
    """``{"score": error rate, "loss": mean cross-entropy}`` of ``data = (x, y)`` from one forward
    pass (``fit``'s ``valid_metric`` for fine-tuning)."""
    x, y = data[0], data[1]
    was_training = model.training
    model.eval()
    errors, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), chunk_size):
            logits, labels = model(x[i:i + chunk_size]), y[i:i + chunk_size]
            errors += int((logits.argmax(dim=1) != labels).sum())
            loss += float(F.cross_entropy(logits, labels, reduction="sum"))
    model.train(was_training)
    return {"score": errors / max(len(x), 1), "loss": loss / max(len(x), 1)}


def _predict(network: nn.Module, x: np.ndarray, device: torch.device, chunk_size: int = 4096) -> np.ndarray:
    network.eval()
    with torch.no_grad():
        return torch.cat([network(torch.as_tensor(x[i:i + chunk_size], device=device)).argmax(1).cpu()
                          for i in range(0, len(x), chunk_size)]).numpy()
