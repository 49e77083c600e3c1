"""The optimisation steps of one training epoch.

:class:`EpochSteps` runs the minibatches of an epoch through one of three steps: the fused step
(plain SGD on an objective that writes its own gradient, :class:`FusedSGDObjective`: no autograd,
no optimizer), the data-parallel step (the objective inside DistributedDataParallel, each rank's
mean weighted by its share of the global batch), or the autograd step. It sums the losses in
float64 and checks them for NaN/inf every ``check_every`` steps (every step on the CPU, where it
costs nothing; every 50 elsewhere, each a host sync).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any, cast

import torch
from torch import Tensor, nn

from ..objectives.protocol import FusedSGDObjective, Objective, ShardableObjective
from .batching import epoch_batches
from .config import NonFiniteLossError, TrainConfig
from .distributed import DistributedContext, ObjectiveModule
from .precision import StepPrecision

__all__ = ["make_optimizer", "EpochSteps"]


def make_optimizer(params: Iterable[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` or ``SGD`` (with momentum) at ``config.lr`` with ``config.weight_decay``;
    with ``config.fused`` Adam runs its fused kernel (one pass over all parameters) where it exists."""
    if config.optimizer == "adam":
        params = list(params)
        fused = config.fused and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


class EpochSteps:
    """The training steps of ``model`` on ``objective`` over ``train`` (tensors indexed together),
    shuffled by ``data_gen``, noised by ``noise_gen``; ``config.batch_size`` rows per step and rank."""

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        optimizer: torch.optim.Optimizer,
        train: tuple[Any, ...],
        config: TrainConfig,
        ctx: DistributedContext,
        device: torch.device,
        dtype: torch.dtype,
        precision: StepPrecision,
        data_gen: torch.Generator,
        noise_gen: torch.Generator,
    ) -> None:
        self.model, self.objective, self.optimizer, self.train = model, objective, optimizer, train
        self.ctx, self.device, self.dtype, self.precision = ctx, device, dtype, precision
        self.data_gen, self.noise_gen = data_gen, noise_gen
        fused = (
            config.fused
            and not ctx.enabled
            and config.optimizer == "sgd"
            and config.momentum == 0
            and config.weight_decay == 0
            and isinstance(objective, FusedSGDObjective)
            and objective.supports_fused(model)
        )
        self.fused_objective = cast(FusedSGDObjective, objective) if fused else None
        if ctx.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.ddp = DistributedDataParallel(
                ObjectiveModule(model, objective), device_ids=[device.index] if device.type == "cuda" else None
            )
        self.global_batch = config.batch_size * ctx.world_size
        self.steps_per_epoch = math.ceil(len(train[0]) / config.batch_size)
        self.check_every = 1 if device.type == "cpu" else 50
        self.out_of_time = False

    def _step(self, batch: tuple[Tensor, ...], global_n: int, start: int, stop: int, lr: float) -> Tensor | None:
        """One step on ``batch`` (rows ``start:stop`` of a global batch of ``global_n``); its loss,
        or None when a data-parallel batch is too small to give every rank a row (skipped)."""
        objective, ctx = self.objective, self.ctx
        if self.fused_objective is not None:
            return self.fused_objective.fused_sgd_step(
                self.model, batch, self.noise_gen, lr, **self.precision.fused_kwargs
            )
        if ctx.enabled:
            if global_n < ctx.world_size:
                return None
            step_objective = (
                objective.sharded(start, stop, global_n) if isinstance(objective, ShardableObjective) else objective
            )
            with self.precision.autocast:
                loss = self.ddp(batch, self.noise_gen, step_objective)
            self.optimizer.zero_grad(set_to_none=True)
            # DDP averages gradients over ranks; weight each rank's mean by its share of the batch
            (loss * ((stop - start) * ctx.world_size / global_n)).backward()
        else:
            with self.precision.autocast:
                loss = objective(self.model, batch, self.noise_gen)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        self.optimizer.step()
        return loss

    def run(self, lr: float, bar: Any, deadline: float | None = None) -> tuple[float, int | None]:
        """Train one epoch at learning rate ``lr``, ticking ``bar`` once a step; returns the mean
        training loss over all ranks' rows and, when a NaN/inf stopped the epoch, the step (1-based)
        by which it was seen (None otherwise). The epoch ends early after the first step that ends
        past ``deadline`` (a ``time.perf_counter()`` value); ``self.out_of_time`` then says so."""
        self.out_of_time = False
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        seen, bad_step = 0, None
        shard = self.ctx.shard if self.ctx.enabled else None
        batches = epoch_batches(self.train, self.global_batch, self.data_gen, self.device, self.dtype, shard)
        for step, (batch, global_n, (start, stop)) in enumerate(batches):
            loss = self._step(batch, global_n, start, stop, lr)
            if loss is None:
                continue
            total.add_(loss.detach(), alpha=len(batch[0]))
            seen += len(batch[0])
            if not self.ctx.enabled and (step + 1) % self.check_every == 0 and not torch.isfinite(total):
                bad_step = step + 1
                break  # (with several ranks the NaN reaches every rank through the all-reduce)
            bar.update(1)
            if deadline is not None and time.perf_counter() >= deadline:
                self.out_of_time = True
                break
        if self.ctx.enabled:
            count = torch.tensor(float(seen), device=self.device, dtype=total.dtype)
            total = self.ctx.all_reduce_sum(torch.stack([total, count]))
            total, seen = total[0], int(total[1])
        return float(total) / max(seen, 1), bad_step

    def diverged(
        self, loss: float, epoch: int, step: int | None, phase: str, lr: float, last: Any
    ) -> NonFiniteLossError:
        """The one-line error of a NaN/inf ``loss`` in ``epoch`` (0-based), ``step`` as returned by
        :meth:`run`; ``last`` is the checkpoint the model was given back (None: there is none)."""
        if step is None:
            where = f"epoch {epoch + 1}"
        elif self.check_every == 1:
            where = f"epoch {epoch + 1}, step {step}/{self.steps_per_epoch}"
        else:
            where = f"epoch {epoch + 1}, by step {step}/{self.steps_per_epoch}"
        return NonFiniteLossError(
            f"the training loss became {loss} in {where} of phase {phase!r} (lr={lr}); "
            + (f"the model keeps the last good checkpoint {last}" if last else "no checkpoint was written for it")
            + "; try a smaller learning rate or check the data for NaN/inf"
        )
