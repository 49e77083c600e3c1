"""Early stopping and the best parameters of a training phase.

:class:`EarlyStopping` follows one score per epoch (lower is better): an epoch whose score is
below the best so far by more than ``config.min_delta`` becomes the best one (its parameters are
kept when there is validation data) and resets the patience count; any other epoch adds one to
it. The phase stops early once ``config.patience`` epochs in a row brought no improvement (with
``config.early_stopping``), and when it ends the best parameters are loaded back into the model.
"""

from __future__ import annotations

from torch import Tensor, nn

from .config import History, TrainConfig

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """The patience count and the best parameters of one phase, whose best score and epoch live
    in its :class:`History`.

    ``best_state`` (a state dict) and ``bad_epochs`` are the values saved in a checkpoint, so that
    a resumed phase continues the same count.
    """

    def __init__(self, config: TrainConfig, best_state: dict[str, Tensor] | None = None, bad_epochs: int = 0) -> None:
        self.config = config
        self.best_state = best_state
        self.bad_epochs = bad_epochs

    def update(self, history: History, epoch: int, score: float, model: nn.Module, keep_parameters: bool) -> None:
        """Count ``epoch`` (1-based, the one just trained) with ``score``; a new best sets
        ``history.best_score``/``best_epoch`` and, with ``keep_parameters``, copies the parameters
        of ``model``."""
        if history.best_score is None or score < history.best_score - self.config.min_delta:
            history.best_score, history.best_epoch, self.bad_epochs = score, epoch, 0
            if keep_parameters:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1

    def finish_epoch(self, history: History, epochs_done: int, model: nn.Module, out_of_time: bool = False) -> bool:
        """Whether the phase ends after ``epochs_done`` epochs (all of ``config.epochs``, or
        stopped early, which ``history.stopped_early`` records, or ``out_of_time``: past the wall-clock
        budget ``config.max_minutes``); when it ends, the best parameters
        kept are loaded into ``model``."""
        epochs = self.config.epochs
        history.stopped_early = (
            self.config.early_stopping and self.bad_epochs >= self.config.patience and epochs_done < epochs
        )
        finished = epochs_done >= epochs or history.stopped_early or out_of_time
        if finished and self.best_state is not None:
            model.load_state_dict(self.best_state)
        return finished
