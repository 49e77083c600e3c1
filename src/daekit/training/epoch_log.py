"""The per-epoch record of a training phase and its progress display.

:class:`EpochLog` owns the phase's tqdm bar (one tick per training step; hidden when
``config.verbose < 1``, on ranks other than 0, when the phase is already finished, and — through
``disable=None`` — when the output is not a terminal), builds each epoch's record and logs one
INFO line per epoch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tqdm.auto import tqdm

from .config import TrainConfig

logger = logging.getLogger(__name__)

__all__ = ["EpochLog", "epoch_score"]


def epoch_score(record: Mapping[str, Any]) -> float:
    """The score an epoch is judged by (lower is better): the validation score, else the
    validation loss, else the training loss."""
    return record.get("valid_score", record.get("valid_loss", record["train_loss"]))


class EpochLog:
    """Progress and records of phase ``phase``: ``config.epochs`` epochs of ``steps_per_epoch``
    steps, ``start_epoch`` of them already done; ``shown`` is False on the ranks that stay quiet."""

    def __init__(
        self, phase: str, config: TrainConfig, steps_per_epoch: int, start_epoch: int, finished: bool, shown: bool
    ) -> None:
        self.phase, self.config, self.shown = phase, config, shown
        self.bar = tqdm(
            total=config.epochs * steps_per_epoch,
            initial=start_epoch * steps_per_epoch,
            desc=phase,
            unit="batch",
            disable=True if config.verbose < 1 or finished or not shown else None,
            leave=False,
            mininterval=0.5,
        )

    def record(self, epoch: int, train_loss: float, lr: float, validation: Mapping[str, float]) -> dict[str, Any]:
        """The record of ``epoch`` (1-based): phase, epoch, train_loss, lr and the validation entries."""
        return {"phase": self.phase, "epoch": epoch, "train_loss": train_loss, "lr": lr, **validation}

    def epoch_done(self, record: Mapping[str, Any]) -> None:
        """Show the epoch's loss on the bar and, with ``config.verbose >= 1`` on a shown rank, log
        ``[phase] epoch k/K train_loss ... valid_loss ... valid_score ... (s)``."""
        self.bar.set_postfix(loss=f"{record['train_loss']:.4g}")
        if self.config.verbose >= 1 and self.shown:
            extra = "".join(f" {k} {record[k]:.4g}" for k in ("valid_loss", "valid_score") if k in record)
            logger.info(
                "[%s] epoch %d/%d train_loss %.4g%s (%.1f s)",
                self.phase,
                record["epoch"],
                self.config.epochs,
                record["train_loss"],
                extra,
                record["seconds"],
            )

    def close(self) -> None:
        self.bar.close()
