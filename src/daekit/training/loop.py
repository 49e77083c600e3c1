"""The one training loop: minibatch SGD/Adam on any objective, with validation, early stopping,
atomic per-epoch checkpoints and exact resume.

An *objective* is a callable ``objective(model, batch, generator) -> scalar loss``; ``batch`` is
a tuple of tensors (the rows of ``train`` for this step) and ``generator`` is the training run's
noise generator (:mod:`daekit.objectives.protocol`). The loop never draws noise itself: the DAE
objective asks its corruption process for x̃ (:class:`~daekit.objectives.denoising.DenoisingObjective`);
supervised fine-tuning and score matching bring their own.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..datasets.split import Split
from ..numerics.precision import bfloat16_is_native, compute_dtype
from ..objectives.protocol import FusedSGDObjective, GradEvaluatedObjective, Objective, ShardableObjective
from ..utils.runtime import make_generator, resolve_device
from .batching import OutOfCoreArray, as_tensors, epoch_batches
from .checkpoints import latest_checkpoint, latest_good_checkpoint, prune_checkpoints, save_checkpoint_dir
from .config import History, NonFiniteLossError, TrainConfig
from .distributed import DistributedContext, ObjectiveModule, init_from_env, rank_device

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..runs.folder import RunFolder

__all__ = ["fit", "evaluate_objective"]


def _batches(data: tuple[Tensor, ...], batch_size: int) -> Iterable[tuple[Tensor, ...]]:
    n = len(data[0])
    for start in range(0, n, batch_size):
        yield tuple(t[start:start + batch_size] for t in data)


def evaluate_objective(model: nn.Module, objective: Objective, data: tuple[Tensor, ...], seed: int,
                       batch_size: int = 1000) -> float:
    """Mean of ``objective`` over ``data`` with a fixed noise seed (comparable across epochs)."""
    device = data[0].device
    generator = make_generator(seed, device)
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    needs_grad = isinstance(objective, GradEvaluatedObjective) and bool(objective.needs_grad)
    with torch.set_grad_enabled(needs_grad):
        for batch in _batches(data, batch_size):
            total += float(objective(model, batch, generator).detach()) * len(batch[0])
            n += len(batch[0])
    model.train(was_training)
    return total / max(n, 1)


def _make_optimizer(params: Iterable[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _clone_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


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

    With validation data the parameters of the best validation epoch are restored at the end.
    A NaN or infinite loss raises :class:`NonFiniteLossError` naming the epoch and step; no
    checkpoint of it is written and ``model`` is left with the weights of the last good checkpoint.
    """
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__} (validation data goes in valid=)")
    config = config or TrainConfig()
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
    device = resolve_device(config.device)
    ctx = distributed if distributed is not None else init_from_env(device)
    device = rank_device(device, ctx)
    if run_dir is not None:
        from ..runs.folder import RunFolder

        run = RunFolder(run_dir)
    with contextlib.ExitStack() as stack:
        if run is not None and ctx.is_main and not run.is_open:
            stack.enter_context(run)
        return _fit(model, objective, train, valid, config, run, phase, resume, valid_metric, callbacks, ctx, device)


def _fit(model, objective, train, valid, config: TrainConfig, run: RunFolder | None, phase: str, resume: bool,
         valid_metric, callbacks, ctx: DistributedContext, device: torch.device) -> History:
    model.to(device)
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    train_t = as_tensors(train, device, dtype)
    valid_t = as_tensors(valid, device, dtype) if valid is not None else None
    if valid_t is not None and any(isinstance(t, OutOfCoreArray) for t in valid_t):
        valid_t = as_tensors(tuple(t.read_rows(0, len(t)) if isinstance(t, OutOfCoreArray) else t for t in valid_t),
                             device, dtype)
    n = len(train_t[0])
    if n == 0:
        raise ValueError("train must contain at least one example")
    optimizer = _make_optimizer(model.parameters(), config)
    seed = config.seed if config.seed is not None else int(torch.seed() % (2**31))
    data_gen = make_generator(seed, "cpu")
    noise_gen = make_generator(seed + 1_000_003, device)
    valid_seed = seed + 2_000_003

    writes = run is not None and ctx.is_main
    ckpt_dir = run.checkpoints if run is not None else None
    history = History()
    best_state: dict[str, Tensor] | None = None
    bad_epochs, start_epoch, finished = 0, 0, config.epochs == 0

    if resume and (good := latest_good_checkpoint(ckpt_dir, phase, device, set_aside=writes)) is not None:
        ckpt, weights, state = good
        if state is None:
            raise ValueError(f"{ckpt} has no trainer.pt; it cannot be resumed")
        model.load_state_dict(weights)
        optimizer.load_state_dict(state["optimizer"])
        data_gen.set_state(state["data_gen"])
        noise_gen.set_state(state["noise_gen"])
        history = History(state["history"], state["best_epoch"], state["best_score"], state["stopped_early"])
        best_state = {k: v.to(device) for k, v in state["best_state"].items()} if state["best_state"] else None
        bad_epochs, start_epoch, finished = state["bad_epochs"], state["epoch"], state["finished"]
        if start_epoch > config.epochs:
            raise ValueError(f"epochs={config.epochs}: the checkpoint {ckpt} already holds {start_epoch} epochs "
                             f"of phase {phase!r}; resume with epochs >= {start_epoch}")
        if finished and not history.stopped_early and start_epoch < config.epochs:
            finished = False  # more epochs requested: continue from the saved model
        seed = state["seed"]

    low = compute_dtype(config.precision)
    if low is not None and not bfloat16_is_native(device):
        warnings.warn(f"precision={config.precision!r}: {device} has no native bfloat16 matrix units, so the "
                      "products are emulated and likely slower than float32", RuntimeWarning, stacklevel=2)
    autocast = torch.autocast(device.type, dtype=low) if low is not None else nullcontext()
    fused_dtype = {"compute_dtype": low} if low is not None else {}
    # Plain SGD on an objective that can write its own gradient skips autograd and the optimizer.
    fused = (config.fused and not ctx.enabled and config.optimizer == "sgd" and config.momentum == 0
             and config.weight_decay == 0 and isinstance(objective, FusedSGDObjective)
             and objective.supports_fused(model))
    if ctx.enabled:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(ObjectiveModule(model, objective),
                                      device_ids=[device.index] if device.type == "cuda" else None)
    shard = ctx.shard if ctx.enabled else None
    global_batch = config.batch_size * ctx.world_size
    steps_per_epoch = math.ceil(n / config.batch_size)
    # steps between NaN checks: every step on the CPU, where it costs nothing, else 50 (a host sync each)
    check_every = 1 if device.type == "cpu" else 50
    bar = tqdm(total=config.epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch, desc=phase,
               unit="batch", disable=True if config.verbose < 1 or finished or not ctx.is_main else None,
               leave=False, mininterval=0.5)
    epoch = start_epoch
    while not finished:
        t0 = time.perf_counter()
        model.train()
        lr = config.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=device, dtype=torch.float64)
        seen, bad_step = 0, None
        batches = epoch_batches(train_t, global_batch, data_gen, device, dtype, shard)
        for step, (batch, global_n, (start, stop)) in enumerate(batches):
            if fused:
                loss = objective.fused_sgd_step(model, batch, noise_gen, lr, **fused_dtype)
            elif ctx.enabled:
                if global_n < ctx.world_size:  # too few rows left to give every rank one
                    continue
                step_objective = (objective.sharded(start, stop, global_n) if isinstance(objective, ShardableObjective)
                                  else objective)
                with autocast:
                    loss = ddp(batch, noise_gen, step_objective)
                optimizer.zero_grad(set_to_none=True)
                # DDP averages gradients over ranks; weight each rank's mean by its share of the batch
                (loss * ((stop - start) * ctx.world_size / global_n)).backward()
                optimizer.step()
            else:
                with autocast:
                    loss = objective(model, batch, noise_gen)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            total.add_(loss.detach(), alpha=len(batch[0]))
            seen += len(batch[0])
            if not ctx.enabled and (step + 1) % check_every == 0 and not torch.isfinite(total):
                bad_step = step + 1
                break  # (with several ranks the NaN reaches every rank through the all-reduce)
            bar.update(1)
        if ctx.enabled:
            total = ctx.all_reduce_sum(torch.stack([total, torch.tensor(float(seen), device=device, dtype=total.dtype)]))
            total, seen = total[0], int(total[1])
        train_loss = float(total) / max(seen, 1)
        if not math.isfinite(train_loss):
            bar.close()
            raise _diverged(model, train_loss, epoch, bad_step, steps_per_epoch, check_every, phase, config,
                            ckpt_dir, device)
        record: dict[str, Any] = {"phase": phase, "epoch": epoch + 1, "train_loss": train_loss, "lr": lr}
        if valid_t is not None:
            if valid_metric is not None:
                measured = valid_metric(model, valid_t)
                if isinstance(measured, Mapping):  # the score and the loss from one pass
                    record["valid_loss"], record["valid_score"] = float(measured["loss"]), float(measured["score"])
                else:
                    record["valid_score"] = float(measured)
            if "valid_loss" not in record:
                record["valid_loss"] = evaluate_objective(model, objective, valid_t, valid_seed, config.valid_batch_size)
        score = record.get("valid_score", record.get("valid_loss", train_loss))
        if history.best_score is None or score < history.best_score - config.min_delta:
            history.best_score, history.best_epoch, bad_epochs = score, epoch + 1, 0
            if valid_t is not None:
                best_state = _clone_state(model)
        else:
            bad_epochs += 1
        record["seconds"] = time.perf_counter() - t0
        history.records.append(record)
        epoch += 1
        history.stopped_early = config.early_stopping and bad_epochs >= config.patience and epoch < config.epochs
        finished = epoch >= config.epochs or history.stopped_early
        if finished and best_state is not None:
            model.load_state_dict(best_state)
        if writes:
            trainer_state = {
                "epoch": epoch, "finished": finished, "seed": seed, "bad_epochs": bad_epochs,
                "optimizer": optimizer.state_dict(), "data_gen": data_gen.get_state(),
                "noise_gen": noise_gen.get_state().cpu(), "history": history.records,
                "best_epoch": history.best_epoch, "best_score": history.best_score,
                "stopped_early": history.stopped_early,
                "best_state": {k: v.cpu() for k, v in best_state.items()} if best_state is not None else None,
            }
            save_checkpoint_dir(ckpt_dir / f"{phase}-{epoch:04d}", model,
                                {"phase": phase, "epoch": epoch, "train": config.to_dict()}, trainer_state)
            prune_checkpoints(ckpt_dir, phase, config.keep_checkpoints)
            run.write_metrics(phase, history.records)
        bar.set_postfix(loss=f"{train_loss:.4g}")
        if config.verbose >= 1 and ctx.is_main:
            extra = "".join(f" {k} {record[k]:.4g}" for k in ("valid_loss", "valid_score") if k in record)
            logger.info("[%s] epoch %d/%d train_loss %.4g%s (%.1f s)", phase, epoch, config.epochs, train_loss, extra,
                        record["seconds"])
        for callback in callbacks:
            callback(record, model)
    bar.close()
    return history


def _diverged(model: nn.Module, loss: float, epoch: int, step: int | None, steps_per_epoch: int, check_every: int,
              phase: str, config: TrainConfig, ckpt_dir: Path | None, device: torch.device) -> NonFiniteLossError:
    """The one-line error of a NaN/inf loss; loads the last good checkpoint's weights into ``model``."""
    if step is None:
        where = f"epoch {epoch + 1}"
    elif check_every == 1:
        where = f"epoch {epoch + 1}, step {step}/{steps_per_epoch}"
    else:
        where = f"epoch {epoch + 1}, by step {step}/{steps_per_epoch}"
    last = latest_checkpoint(ckpt_dir, phase)
    if last is not None:
        from ..models.registry import read_weights

        model.load_state_dict(read_weights(last / "model.safetensors", device))
    return NonFiniteLossError(
        f"the training loss became {loss} in {where} of phase {phase!r} (lr={config.lr}); "
        + (f"the model keeps the last good checkpoint {last}" if last else "no checkpoint was written for it")
        + "; try a smaller learning rate or check the data for NaN/inf")
