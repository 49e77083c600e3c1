"""The small MNIST classifier whose features the sample-quality metrics use (:mod:`daekit.metrics.mnist_classifier`
trains, checksums and caches it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.validation import check_positive_int
from .registry import register_model

__all__ = ["MNISTClassifier", "MNISTClassifierConfig"]


@dataclass
class MNISTClassifierConfig:
    channels: tuple[int, int] = (8, 16)
    n_features: int = 128

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


@register_model
class MNISTClassifier(nn.Module):
    """conv5×5 → ReLU → maxpool2 → conv5×5 → ReLU → maxpool2 → linear(n_features) → ReLU → linear(10)
    on (N, 1, 28, 28) or (N, 784) inputs in [0, 1]; ``features`` is the ``n_features`` layer."""

    def __init__(self, channels: tuple[int, int] = (8, 16), n_features: int = 128) -> None:
        super().__init__()
        c1, c2 = (check_positive_int(c, "channels") for c in channels)
        self.config = MNISTClassifierConfig((c1, c2), check_positive_int(n_features, "n_features"))
        self.conv1 = nn.Conv2d(1, c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5, padding=2)
        self.fc = nn.Linear(c2 * 7 * 7, n_features)
        self.head = nn.Linear(n_features, 10)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MNISTClassifier:
        return cls(tuple(config["channels"]), config["n_features"])

    def features(self, x: Tensor) -> Tensor:
        h = x.reshape(-1, 1, 28, 28)
        h = F.max_pool2d(F.relu(self.conv1(h)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
