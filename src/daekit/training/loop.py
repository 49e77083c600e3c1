"""The one training loop: minibatch SGD/Adam on any objective, with validation, early stopping,
atomic per-epoch checkpoints and exact resume.

An *objective* is a callable ``objective(model, batch, generator) -> scalar loss``; ``batch`` is
a tuple of tensors (the rows of ``train`` for this step) and ``generator`` is the training run's
noise generator (:mod:`daekit.objectives.protocol`). The loop never draws noise itself: the DAE
objective asks its corruption process for x̃ (:class:`~daekit.objectives.denoising.DenoisingObjective`);
supervised fine-tuning and score matching bring their own.

:func:`fit` reads as the epoch loop; its collaborators are the steps of an epoch
(:mod:`.steps`), their precision (:mod:`.precision`), the learning-rate schedule
(:mod:`.schedules`), validation (:mod:`.validation`), early stopping and the best parameters
(:mod:`.early_stopping`), checkpoints and resume (:mod:`.checkpointing`) and the epoch records and
progress (:mod:`.epoch_log`).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ..datasets.split import Split
from ..objectives.protocol import Objective
from ..utils.runtime import make_generator, resolve_device
from .batching import OutOfCoreArray, as_tensors
from .checkpointing import PhaseCheckpoints, Resumed
from .config import History, TrainConfig
from .distributed import DistributedContext, init_from_env, rank_device
from .early_stopping import EarlyStopping
from .epoch_log import EpochLog, epoch_score
from .precision import StepPrecision
from .schedules import lr_at
from .steps import EpochSteps, make_optimizer
from .validation import validate

if TYPE_CHECKING:
    from ..runs.folder import RunFolder

__all__ = ["fit"]


def fit(
    model: nn.Module,
    objective: Objective,
    data: Any,
    config: TrainConfig | None = None,
    run: RunFolder | None = None,
    *,
    valid: Any = None,
    run_dir: str | os.PathLike | None = None,
    phase: str = "train",
    resume: bool = False,
    valid_metric: Callable[[nn.Module, tuple[Tensor, ...]], float | Mapping[str, float]] | None = None,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
    distributed: DistributedContext | None = None,
) -> History:
    """Train ``model`` on ``objective`` over minibatches of ``train``; returns the :class:`History`.

    Parameters
    ----------
    model : nn.Module, moved to ``config.device``.
    objective : callable (model, batch, generator) -> scalar loss.
    data : a :class:`~daekit.datasets.split.Split` (training on its :meth:`~Split.train_arrays`,
        validation on its :meth:`~Split.valid_arrays`), or the training arrays alone: an
        array/tensor or a tuple of them (e.g. ``(x, y)``), indexed together.
    valid : validation arrays when ``data`` is not a Split (same form as the training arrays).
    config : :class:`TrainConfig`.
    run : a :class:`~daekit.runs.folder.RunFolder`; when given, a checkpoint is written atomically
        after every epoch to ``checkpoints/{phase}-{epoch}`` (the newest ``config.keep_checkpoints``
        are kept) and ``metrics.jsonl`` is kept equal to the checkpointed history. An unopened
        folder is opened (locked) for the duration of the call.
    run_dir : the path of the run folder instead of ``run`` (opened for the duration of the call).
    resume : continue from the newest good checkpoint of ``phase`` (a damaged newer one is skipped
        with a logged warning); the result is identical to an uninterrupted run with the same seed.
    valid_metric : (model, valid) -> float, lower is better (e.g. classification error); used for
        early stopping and for choosing the best parameters instead of the validation loss. It may
        instead return ``{"score": float, "loss": float}`` to give the validation loss from the
        same pass over ``valid`` (then ``objective`` is not evaluated on it).
    callbacks : each called as ``callback(record, model)`` after every epoch.
    distributed : a :class:`~daekit.training.distributed.DistributedContext`; None joins the job torchrun
        describes in the environment (a single process when there is none). With several ranks,
        ``config.batch_size`` is the per-rank batch, the objective runs inside
        DistributedDataParallel, and rank 0 alone writes checkpoints, metrics and progress.

    ``config.precision="bfloat16"`` computes the training steps' matrix products in bfloat16 (the
    hand-written steps from a per-step copy of the float32 weights; other objectives under
    :func:`torch.autocast`); parameters, updates and validation stay in float32
    (:mod:`daekit.numerics.precision`).

    ``config.max_minutes`` is a wall-clock budget: the loop stops after the first step that ends
    past it (that last, shortened epoch is recorded and checkpointed like the others).

    With validation data the parameters of the best validation epoch are restored at the end.
    A NaN or infinite loss raises :class:`NonFiniteLossError` naming the epoch and step; no
    checkpoint of it is written and ``model`` is left with the weights of the last good checkpoint.
    """
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__} (validation data goes in valid=)")
    config = config or TrainConfig()
    train, valid = _train_and_valid(data, valid, run, run_dir, resume)
    device = resolve_device(config.device)
    ctx = distributed if distributed is not None else init_from_env(device)
    device = rank_device(device, ctx)
    if run_dir is not None:
        from ..runs.folder import RunFolder

        run = RunFolder(run_dir)
    with contextlib.ExitStack() as stack:
        if run is not None and ctx.is_main and not run.is_open:
            stack.enter_context(run)
        model.to(device)
        dtype = _parameter_dtype(model)
        train_t, valid_t = as_tensors(train, device, dtype), _in_memory(valid, device, dtype)
        if len(train_t[0]) == 0:
            raise ValueError("train must contain at least one example")
        optimizer = make_optimizer(model.parameters(), config)
        seed = config.seed if config.seed is not None else int(torch.seed() % (2**31))
        data_gen, noise_gen = make_generator(seed, "cpu"), make_generator(seed + 1_000_003, device)
        valid_seed = seed + 2_000_003
        checkpoints = PhaseCheckpoints(run, phase, writes=run is not None and ctx.is_main, device=device)
        resumed = checkpoints.resume(model, optimizer, data_gen, noise_gen, config) if resume else None
        if resumed is None:
            resumed = Resumed(History(), EarlyStopping(config), 0, config.epochs == 0, seed)
        history, stopping, epoch, finished, seed = (
            resumed.history,
            resumed.stopping,
            resumed.epoch,
            resumed.finished,
            resumed.seed,
        )
        steps = EpochSteps(
            model,
            objective,
            optimizer,
            train_t,
            config,
            ctx,
            device,
            dtype,
            StepPrecision(config.precision, device),
            data_gen,
            noise_gen,
        )
        log = EpochLog(phase, config, steps.steps_per_epoch, epoch, finished, shown=ctx.is_main)
        if config.max_minutes is not None and ctx.enabled:
            raise ValueError(
                "max_minutes is for single-process training (ranks would stop at different steps); "
                "give several ranks a number of epochs"
            )
        deadline = None if config.max_minutes is None else time.perf_counter() + 60 * config.max_minutes
        while not finished:
            t0 = time.perf_counter()
            lr = lr_at(config, epoch)
            train_loss, bad_step = steps.run(lr, log.bar, deadline)
            if not math.isfinite(train_loss):
                log.close()
                raise steps.diverged(train_loss, epoch, bad_step, phase, config.lr, checkpoints.restore_last(model))
            validation = (
                {}
                if valid_t is None
                else validate(model, objective, valid_t, valid_metric, valid_seed, config.valid_batch_size)
            )
            record = log.record(epoch + 1, train_loss, lr, validation)
            stopping.update(history, epoch + 1, epoch_score(record), model, keep_parameters=valid_t is not None)
            record["seconds"] = time.perf_counter() - t0
            history.records.append(record)
            epoch += 1
            finished = stopping.finish_epoch(history, epoch, model, steps.out_of_time)
            checkpoints.save(epoch, finished, seed, model, optimizer, data_gen, noise_gen, history, stopping, config)
            log.epoch_done(record)
            for callback in callbacks:
                callback(record, model)
        log.close()
        return history


def _train_and_valid(data: Any, valid: Any, run: RunFolder | None, run_dir: Any, resume: bool) -> tuple[Any, Any]:
    """The training and validation arrays of ``fit``'s arguments, after checking they agree."""
    if run is not None and run_dir is not None:
        raise TypeError("fit: give run or run_dir, not both")
    if isinstance(data, Split):
        if valid is not None:
            raise TypeError("fit: data is a Split; its x_valid is the validation set, do not pass valid")
        train, valid = data.train_arrays(), data.valid_arrays()
    else:
        train = data
    if resume and run is None and run_dir is None:
        raise ValueError("resume=True needs run (or run_dir)")
    return train, valid


def _parameter_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first parameter when it is floating point, else float32."""
    param = next(model.parameters(), None)
    return param.dtype if param is not None and param.is_floating_point() else torch.float32


def _in_memory(valid: Any, device: torch.device, dtype: torch.dtype) -> tuple[Any, ...] | None:
    """The validation arrays as tensors on ``device``, out-of-core ones read into memory."""
    if valid is None:
        return None
    valid_t = as_tensors(valid, device, dtype)
    if any(isinstance(t, OutOfCoreArray) for t in valid_t):
        valid_t = as_tensors(
            tuple(t.read_rows(0, len(t)) if isinstance(t, OutOfCoreArray) else t for t in valid_t), device, dtype
        )
    return valid_t
