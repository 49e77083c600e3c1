"""Learning-rate schedules: within one phase and across training phases.

:func:`lr_at` is the learning rate of one epoch of a phase, from ``TrainConfig.lr_schedule``:
constant, or decayed linearly or along a half cosine from ``lr`` to ``lr * lr_final_fraction``.
:func:`lr_phases` is the three-phase step decay of the score-matching runs (lr for half of the
epochs, lr/5 for a quarter, lr/25 for the rest); :func:`fit_in_phases` trains through
:func:`daekit.training.loop.fit` once per phase with a fresh Adam optimizer each phase, each phase
checkpointed under its own name so a run folder resumes phase by phase.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from torch import nn

from ..utils.validation import check_positive, check_positive_int
from .config import TrainConfig

if TYPE_CHECKING:
    from ..runs.folder import RunFolder

__all__ = ["lr_at", "lr_phases", "fit_in_phases"]


def lr_at(config: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (0-based) of a phase trained with ``config``: ``config.lr``
    when ``lr_schedule="constant"`` (or a single epoch), else decayed from ``lr`` at the first epoch
    to ``lr * lr_final_fraction`` at the last, linearly (``1 - t``) or along a half cosine
    (``(1 + cos(pi t)) / 2``), ``t = epoch / (epochs - 1)``."""
    if config.lr_schedule == "constant" or config.epochs <= 1:
        return config.lr
    t = epoch / (config.epochs - 1)
    decay = 1 - t if config.lr_schedule == "linear" else 0.5 * (1 + math.cos(math.pi * t))
    return config.lr * (config.lr_final_fraction + (1 - config.lr_final_fraction) * decay)


def lr_phases(epochs: int, lr: float) -> list[tuple[str, int, float]]:
    """``(phase name, epochs, learning rate)`` of the three phases: ``lr`` for half of the epochs
    (at least one), ``lr/5`` for a quarter, ``lr/25`` for the rest; phases of zero epochs are left out."""
    check_positive_int(epochs, "epochs")
    check_positive(lr, "lr")
    first = max(1, epochs // 2)
    second = epochs // 4
    third = epochs - first - second
    return [
        (name, e, rate)
        for name, e, rate in (("train", first, lr), ("decay1", second, lr / 5), ("decay2", third, lr / 25))
        if e > 0
    ]


def fit_in_phases(
    model: nn.Module,
    objective: Any,
    x: Any,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int = 0,
    device: str = "cpu",
    run: RunFolder | None = None,
    verbose: int = 0,
    resume: bool = False,
    run_dir: Any = None,
) -> list[float]:
    """Adam through :func:`~daekit.training.loop.fit` in the phases of :func:`lr_phases` (a fresh
    optimizer and seed ``seed + i`` in phase i); returns the per-epoch training losses. With
    ``resume``, finished phases are read back from their checkpoints and the interrupted one continues."""
    from .loop import fit

    losses: list[float] = []
    for i, (phase, n_epochs, rate) in enumerate(lr_phases(epochs, lr)):
        config = TrainConfig(
            epochs=n_epochs,
            batch_size=batch_size,
            lr=rate,
            optimizer="adam",
            seed=seed + i,
            device=device,
            verbose=verbose,
        )
        losses += fit(
            model, objective, (x,), config=config, run=run, run_dir=run_dir, phase=phase, resume=resume
        ).train_loss
    return losses
