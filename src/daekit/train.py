"""The one training loop: minibatch SGD/Adam on any objective, with validation, early stopping,
atomic per-epoch checkpoints and exact resume.

An *objective* is a callable ``objective(model, batch, generator) -> scalar loss``; ``batch`` is
a tuple of tensors (the rows of ``train`` for this step) and ``generator`` is the training run's
noise generator. The loop never draws noise itself: the DAE objective asks its corruption process
for x̃ (:class:`DenoisingObjective`); supervised fine-tuning and score matching bring their own.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ._atomic import atomic_write_bytes
from .checkpoint import latest_checkpoint, prune_checkpoints, save_checkpoint_dir
from .data import OutOfCoreArray, epoch_batches, is_out_of_core
from .precision import PRECISIONS, bfloat16_is_native, compute_dtype
from .distributed import DistributedContext, ObjectiveModule, ShardedCorruption, init_from_env, rank_device
from .utils import check_choice, check_positive, check_positive_int, make_generator, resolve_device

__all__ = [
    "TrainConfig",
    "History",
    "NonFiniteLossError",
    "DenoisingObjective",
    "fit",
    "as_tensors",
    "evaluate_objective",
]

Objective = Callable[[nn.Module, tuple[Tensor, ...], torch.Generator], Tensor]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    """Settings of :func:`fit`; saved in every checkpoint."""

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

    def lr_at(self, epoch: int) -> float:
        """The learning rate of ``epoch`` (0-based): constant, or decayed from ``lr`` to
        ``lr * lr_final_fraction`` at the last epoch, linearly or along a half cosine."""
        if self.lr_schedule == "constant" or self.epochs <= 1:
            return self.lr
        t = epoch / (self.epochs - 1)
        decay = 1 - t if self.lr_schedule == "linear" else 0.5 * (1 + math.cos(math.pi * t))
        return self.lr * (self.lr_final_fraction + (1 - self.lr_final_fraction) * decay)

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


class DenoisingObjective:
    """J = E_{x, x̃ ~ C(x̃|x)} [−log p_decoder(x | f(x̃))]: corrupt, reconstruct, compare to the
    clean x (Vincent et al. 2010, §3.2; Deep Learning book §14.5)."""

    def __init__(self, corruption: Callable[..., Tensor]) -> None:
        self.corruption = corruption

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x = batch[0]
        return model.loss(x, self.corruption(x, generator))

    def sharded(self, start: int, stop: int, global_size: int) -> "DenoisingObjective":
        """This objective for rows [start, stop) of a global batch, with the same corruption draws
        as one process corrupting the whole batch (data-parallel training)."""
        return DenoisingObjective(ShardedCorruption(self.corruption, start, stop, global_size))

    def supports_fused(self, model: nn.Module) -> bool:
        return bool(getattr(model, "supports_fused_sgd", False))

    def fused_sgd_step(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator, lr: float,
                       compute_dtype: torch.dtype | None = None) -> Tensor:
        """The same step as ``objective`` + backward + plain SGD, with the model's hand-written
        gradient (:meth:`daekit.models.DAE.fused_sgd_step`); same corruption draws."""
        x = batch[0]
        return model.fused_sgd_step(x, self.corruption(x, generator), lr, compute_dtype)


def as_tensors(data: Any, device: torch.device | str = "cpu", dtype: torch.dtype | None = None) -> tuple[Tensor, ...]:
    """Turn an array, a tensor or a tuple of them into a tuple of tensors on ``device``.

    Floating arrays become ``dtype`` (default float32); integer arrays (labels) stay integers.
    A ``np.memmap`` or :class:`~daekit.data.OutOfCoreArray` stays on disk (read in chunks).
    All members must have the same length.
    """
    items = data if isinstance(data, (tuple, list)) else (data,)
    out = []
    for item in items:
        if is_out_of_core(item):
            out.append(item if isinstance(item, OutOfCoreArray) else OutOfCoreArray(item))
            continue
        t = item if isinstance(item, Tensor) else torch.as_tensor(np.asarray(item))
        if t.is_floating_point():
            t = t.to(dtype or torch.float32)
        out.append(t.to(device))
    lengths = {len(t) for t in out}
    if len(lengths) != 1:
        raise ValueError(f"all arrays of a data tuple must have the same length, got {sorted(lengths)}")
    return tuple(out)


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
    with torch.set_grad_enabled(bool(getattr(objective, "needs_grad", False))):
        for batch in _batches(data, batch_size):
            total += float(objective(model, batch, generator).detach()) * len(batch[0])
            n += len(batch[0])
    model.train(was_training)
    return total / max(n, 1)


def _make_optimizer(params: Iterable[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        params = list(params)
        # the fused kernel (one pass over all parameters) exists for floating tensors on CPU and CUDA
        fused = config.fused and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _clone_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class _MetricsFile:
    """``metrics.jsonl`` of a run folder: one line per epoch per phase, rewritten atomically so
    that it always matches the checkpoints (a resumed phase replaces its own lines)."""

    def __init__(self, path: Path, phase: str) -> None:
        self.path, self.phase = path, phase
        self.others: list[str] = []
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip() and json.loads(line).get("phase") != phase:
                    self.others.append(line)

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        lines = self.others + [json.dumps(r, sort_keys=True) for r in records]
        atomic_write_bytes(self.path, ("\n".join(lines) + "\n").encode())


def fit(
    model: nn.Module,
    objective: Objective,
    train: Any,
    valid: Any = None,
    config: TrainConfig | None = None,
    *,
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
    train, valid : an array/tensor or a tuple of them (e.g. ``(x, y)``), indexed together.
    config : :class:`TrainConfig`.
    run_dir : when given, a checkpoint is written atomically after every epoch to
        ``run_dir/checkpoints/{phase}-{epoch}`` and ``run_dir/metrics.jsonl`` is kept up to date.
    resume : continue from the newest complete checkpoint of ``phase`` in ``run_dir``; the result
        is identical to an uninterrupted run with the same seed.
    valid_metric : (model, valid) -> float, lower is better (e.g. classification error); used for
        early stopping and for choosing the best parameters instead of the validation loss. It may
        instead return ``{"score": float, "loss": float}`` to give the validation loss from the
        same pass over ``valid`` (then ``objective`` is not evaluated on it).
    callbacks : each called as ``callback(record, model)`` after every epoch.
    distributed : a :class:`~daekit.distributed.DistributedContext`; None joins the job torchrun
        describes in the environment (a single process when there is none). With several ranks,
        ``config.batch_size`` is the per-rank batch, the objective runs inside
        DistributedDataParallel, and rank 0 alone writes checkpoints, metrics and progress.

    ``config.precision="bfloat16"`` computes the training steps' matrix products in bfloat16 (the
    hand-written steps from a per-step copy of the float32 weights; other objectives under
    :func:`torch.autocast`); parameters, updates and validation stay in float32
    (:mod:`daekit.precision`).

    ``config.max_minutes`` is a wall-clock budget: the loop stops after the first step that ends
    past it (that last, shortened epoch is recorded and checkpointed like the others). With
    ``optimizer="adam"`` and ``config.fused``, Adam runs its fused kernel.

    With validation data the parameters of the best validation epoch are restored at the end.
    A NaN or infinite loss raises :class:`NonFiniteLossError`; no checkpoint of it is written.
    """
    config = config or TrainConfig()
    if resume and run_dir is None:
        raise ValueError("resume=True needs run_dir")
    device = resolve_device(config.device)
    ctx = distributed if distributed is not None else init_from_env(device)
    device = rank_device(device, ctx)
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

    writes = run_dir is not None and ctx.is_main
    ckpt_dir = Path(run_dir) / "checkpoints" if run_dir is not None else None
    metrics = _MetricsFile(Path(run_dir) / "metrics.jsonl", phase) if writes else None
    history = History()
    best_state: dict[str, Tensor] | None = None
    bad_epochs, start_epoch, finished = 0, 0, config.epochs == 0

    if resume and (ckpt := latest_checkpoint(ckpt_dir, phase)) is not None:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(ckpt / "model.safetensors"), device=str(device)))
        state = torch.load(ckpt / "trainer.pt", map_location="cpu", weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        data_gen.set_state(state["data_gen"])
        noise_gen.set_state(state["noise_gen"])
        history = History(state["history"], state["best_epoch"], state["best_score"], state["stopped_early"])
        best_state = {k: v.to(device) for k, v in state["best_state"].items()} if state["best_state"] else None
        bad_epochs, start_epoch, finished = state["bad_epochs"], state["epoch"], state["finished"]
        seed = state["seed"]

    low = compute_dtype(config.precision)
    if low is not None and not bfloat16_is_native(device):
        warnings.warn(f"precision={config.precision!r}: {device} has no native bfloat16 matrix units, so the "
                      "products are emulated and likely slower than float32", RuntimeWarning, stacklevel=2)
    autocast = torch.autocast(device.type, dtype=low) if low is not None else nullcontext()
    fused_dtype = {"compute_dtype": low} if low is not None else {}
    # Plain SGD on an objective that can write its own gradient skips autograd and the optimizer.
    fused = (config.fused and not ctx.enabled and config.optimizer == "sgd" and config.momentum == 0
             and config.weight_decay == 0 and callable(getattr(objective, "fused_sgd_step", None))
             and objective.supports_fused(model))
    if ctx.enabled:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(ObjectiveModule(model, objective),
                                      device_ids=[device.index] if device.type == "cuda" else None)
    shard = ctx.shard if ctx.enabled else None
    global_batch = config.batch_size * ctx.world_size
    steps_per_epoch = math.ceil(n / config.batch_size)
    check_every = 50  # steps between NaN checks (each one is a host sync on an accelerator)
    bar = tqdm(total=config.epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch, desc=phase,
               unit="batch", disable=config.verbose < 1 or finished or not ctx.is_main, leave=False, mininterval=0.5)
    epoch = start_epoch
    if config.max_minutes is not None and ctx.enabled:
        raise ValueError("max_minutes is for single-process training (ranks would stop at different steps); "
                         "give several ranks a number of epochs")
    deadline = time.perf_counter() + 60 * config.max_minutes if config.max_minutes is not None else None
    out_of_time = False
    while not finished:
        t0 = time.perf_counter()
        model.train()
        lr = config.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=device, dtype=torch.float64)
        seen = 0
        batches = epoch_batches(train_t, global_batch, data_gen, device, dtype, shard)
        for step, (batch, global_n, (start, stop)) in enumerate(batches):
            if fused:
                loss = objective.fused_sgd_step(model, batch, noise_gen, lr, **fused_dtype)
            elif ctx.enabled:
                if global_n < ctx.world_size:  # too few rows left to give every rank one
                    continue
                step_objective = objective.sharded(start, stop, global_n) if hasattr(objective, "sharded") else objective
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
                break  # (with several ranks the NaN reaches every rank through the all-reduce)
            bar.update(1)
            if deadline is not None and time.perf_counter() >= deadline:
                out_of_time = True
                break
        if ctx.enabled:
            total = ctx.all_reduce_sum(torch.stack([total, torch.tensor(float(seen), device=device, dtype=total.dtype)]))
            total, seen = total[0], int(total[1])
        train_loss = float(total) / max(seen, 1)
        if not math.isfinite(train_loss):
            last = latest_checkpoint(ckpt_dir, phase) if ckpt_dir is not None else None
            bar.close()
            raise NonFiniteLossError(
                f"the training loss became {train_loss} in epoch {epoch + 1} of phase {phase!r} "
                f"(lr={config.lr}); try a smaller learning rate. "
                + (f"The last good checkpoint is {last}." if last else "No checkpoint was written for it.")
            )
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
        finished = epoch >= config.epochs or history.stopped_early or out_of_time
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
            metrics.write(history.records)
        bar.set_postfix(loss=f"{train_loss:.4g}")
        if config.verbose >= 1 and ctx.is_main:
            extra = "".join(f" {k} {record[k]:.4g}" for k in ("valid_loss", "valid_score") if k in record)
            tqdm.write(f"[{phase}] epoch {epoch}/{config.epochs} train_loss {train_loss:.4g}{extra} "
                       f"({record['seconds']:.1f} s)")
        for callback in callbacks:
            callback(record, model)
    bar.close()
    return history
