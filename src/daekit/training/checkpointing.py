"""Per-epoch checkpoints of a training phase in a run folder, and exact resume from them.

:class:`PhaseCheckpoints` writes, after every epoch, ``checkpoints/{phase}-{epoch:04d}`` of the
run folder atomically (the model files and ``trainer.pt``: optimizer and generator states, the
history, the early-stopping count and best parameters), keeps the newest
``config.keep_checkpoints`` and rewrites the phase's lines of ``metrics.jsonl`` to the
checkpointed history. :meth:`~PhaseCheckpoints.resume` restores all of it from the newest good
checkpoint (:func:`~daekit.training.checkpoints.latest_good_checkpoint`), so that a resumed phase
computes what an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from .checkpoints import latest_checkpoint, latest_good_checkpoint, prune_checkpoints, save_checkpoint_dir
from .config import History, TrainConfig
from .early_stopping import EarlyStopping

if TYPE_CHECKING:
    from ..runs.folder import RunFolder

__all__ = ["PhaseCheckpoints", "Resumed"]


@dataclass
class Resumed:
    """What a checkpoint restores besides the weights, optimizer and generators: the history, the
    early-stopping state, the number of epochs done, whether the phase is over, and its seed."""

    history: History
    stopping: EarlyStopping
    epoch: int
    finished: bool
    seed: int


class PhaseCheckpoints:
    """The checkpoints of phase ``phase`` in ``run`` (None: no run folder, nothing is written or
    resumed). Only the writing process (``writes``: rank 0 of a run folder) saves, prunes, writes
    metrics and sets damaged checkpoints aside."""

    def __init__(self, run: RunFolder | None, phase: str, writes: bool, device: torch.device) -> None:
        self.run, self.phase, self.writes, self.device = run, phase, writes, device
        self.directory = run.checkpoints if run is not None else None

    def resume(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        data_gen: torch.Generator,
        noise_gen: torch.Generator,
        config: TrainConfig,
    ) -> Resumed | None:
        """Load the newest good checkpoint of the phase into ``model``, ``optimizer`` and the two
        generators, and return the rest of its state; None when there is none.

        A checkpoint without ``trainer.pt``, or one holding more epochs than ``config.epochs``,
        raises ValueError. A finished phase asked for more epochs (and not stopped early) resumes.
        """
        good = latest_good_checkpoint(self.directory, self.phase, self.device, set_aside=self.writes)
        if good is None:
            return None
        ckpt, weights, state = good
        if state is None:
            raise ValueError(f"{ckpt} has no trainer.pt; it cannot be resumed")
        model.load_state_dict(weights)
        optimizer.load_state_dict(state["optimizer"])
        data_gen.set_state(state["data_gen"])
        noise_gen.set_state(state["noise_gen"])
        history = History(state["history"], state["best_epoch"], state["best_score"], state["stopped_early"])
        best_state = {k: v.to(self.device) for k, v in state["best_state"].items()} if state["best_state"] else None
        stopping = EarlyStopping(config, best_state, state["bad_epochs"])
        start_epoch, finished = state["epoch"], state["finished"]
        if start_epoch > config.epochs:
            raise ValueError(
                f"epochs={config.epochs}: the checkpoint {ckpt} already holds {start_epoch} epochs "
                f"of phase {self.phase!r}; resume with epochs >= {start_epoch}"
            )
        if finished and not history.stopped_early and start_epoch < config.epochs:
            finished = False  # more epochs requested: continue from the saved model
        return Resumed(history, stopping, start_epoch, finished, state["seed"])

    def save(
        self,
        epoch: int,
        finished: bool,
        seed: int,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        data_gen: torch.Generator,
        noise_gen: torch.Generator,
        history: History,
        stopping: EarlyStopping,
        config: TrainConfig,
    ) -> None:
        """After ``epoch`` epochs (1-based count): write its checkpoint, prune older ones and
        rewrite the phase's metrics; a no-op unless this process ``writes``."""
        if not self.writes or self.run is None or self.directory is None:
            return
        best_state = stopping.best_state
        trainer_state = {
            "epoch": epoch,
            "finished": finished,
            "seed": seed,
            "bad_epochs": stopping.bad_epochs,
            "optimizer": optimizer.state_dict(),
            "data_gen": data_gen.get_state(),
            "noise_gen": noise_gen.get_state().cpu(),
            "history": history.records,
            "best_epoch": history.best_epoch,
            "best_score": history.best_score,
            "stopped_early": history.stopped_early,
            "best_state": {k: v.cpu() for k, v in best_state.items()} if best_state is not None else None,
        }
        save_checkpoint_dir(
            self.directory / f"{self.phase}-{epoch:04d}",
            model,
            {"phase": self.phase, "epoch": epoch, "train": config.to_dict()},
            trainer_state,
        )
        prune_checkpoints(self.directory, self.phase, config.keep_checkpoints)
        self.run.write_metrics(self.phase, history.records)

    def restore_last(self, model: nn.Module) -> Path | None:
        """Load the weights of the newest checkpoint of the phase (not verified) into ``model``
        and return its path; None, leaving ``model`` as it is, when there is none."""
        last = latest_checkpoint(self.directory, self.phase)
        if last is not None:
            from ..models.registry import read_weights

            model.load_state_dict(read_weights(last / "model.safetensors", self.device))
        return last
