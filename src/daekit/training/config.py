"""The settings of :func:`daekit.training.loop.fit` and the record of a training phase."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..numerics.precision import PRECISIONS
from ..utils.validation import check_choice, check_positive, check_positive_int

__all__ = ["TrainConfig", "History", "NonFiniteLossError"]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    """Settings of :func:`fit`; saved in every checkpoint. The learning rate of each epoch is
    :func:`daekit.training.schedules.lr_at`."""

    epochs: int = 15
    batch_size: int = 20
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    early_stopping: bool = False
    patience: int = 10
    min_delta: float = 0.0
    seed: int | None = 0
    device: str = "auto"
    verbose: int = 1
    keep_checkpoints: int = 1
    valid_batch_size: int = 1000
    fused: bool = True
    lr_schedule: str = "constant"
    lr_final_fraction: float = 0.01
    precision: str = "float32"
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        check_positive_int(self.epochs, "epochs", allow_zero=True)
        check_positive_int(self.batch_size, "batch_size")
        check_positive(self.lr, "lr")
        check_choice(self.optimizer, "optimizer", ("sgd", "adam"))
        check_positive(self.momentum, "momentum", allow_zero=True)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        check_positive(self.weight_decay, "weight_decay", allow_zero=True)
        check_positive_int(self.patience, "patience")
        check_positive(self.min_delta, "min_delta", allow_zero=True)
        if self.seed is not None:
            check_positive_int(self.seed, "seed", allow_zero=True)
        check_positive_int(self.keep_checkpoints, "keep_checkpoints")
        check_positive_int(self.valid_batch_size, "valid_batch_size")
        check_choice(self.lr_schedule, "lr_schedule", ("constant", "linear", "cosine"))
        check_positive(self.lr_final_fraction, "lr_final_fraction", allow_zero=True)
        check_choice(self.precision, "precision", PRECISIONS)
        if self.max_minutes is not None:
            check_positive(self.max_minutes, "max_minutes")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class History:
    """Per-epoch records of one training phase, and the best validation score."""

    records: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False

    @property
    def train_loss(self) -> list[float]:
        return [r["train_loss"] for r in self.records]

    @property
    def valid_loss(self) -> list[float]:
        return [r["valid_loss"] for r in self.records if "valid_loss" in r]

    @property
    def valid_score(self) -> list[float]:
        return [r["valid_score"] for r in self.records if "valid_score" in r]
