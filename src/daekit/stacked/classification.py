"""The error and cross-entropy of a classifier."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


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
            logits, labels = model(x[i : i + chunk_size]), y[i : i + chunk_size]
            errors += int((logits.argmax(dim=1) != labels).sum())
            loss += float(F.cross_entropy(logits, labels, reduction="sum"))
    model.train(was_training)
    return {"score": errors / max(len(x), 1), "loss": loss / max(len(x), 1)}


def predict_classes(network: nn.Module, x: np.ndarray, device: torch.device, chunk_size: int = 4096) -> np.ndarray:
    network.eval()
    with torch.no_grad():
        return torch.cat(
            [
                network(torch.as_tensor(x[i : i + chunk_size], device=device)).argmax(1).cpu()
                for i in range(0, len(x), chunk_size)
            ]
        ).numpy()
