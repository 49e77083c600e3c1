"""Data-parallel training on torch.distributed, detected from the environment torchrun sets.

``torchrun --nproc_per_node=N -m daekit train ...`` starts N processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT`` set; :func:`init_from_env`
joins the process group (``nccl`` on CUDA, ``gloo`` on CPU) and the training loop then wraps the
objective in ``DistributedDataParallel``. Every rank walks the same shuffled order of the data and
takes its own contiguous share of each global batch, and every rank draws the corruption of the
*whole* global batch from the same generator, keeping the rows of its share: a run's result does
not depend on the number of processes (N ranks × batch b equals 1 process × batch N·b).
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["DistributedContext", "init_from_env", "end_rank_process", "ObjectiveModule", "SINGLE"]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in the job: ``rank`` of ``world_size``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs and writes files."""
        return self.rank == 0

    def shard(self, global_size: int) -> tuple[int, int]:
        """The rows [start, stop) of a global batch of ``global_size`` that this rank trains on."""
        return (self.rank * global_size // self.world_size, (self.rank + 1) * global_size // self.world_size)

    def all_reduce_sum(self, values: Tensor) -> Tensor:
        if self.enabled:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


SINGLE = DistributedContext()


def init_from_env(device: torch.device, timeout_s: float | None = None) -> DistributedContext:
    """Join the process group described by torchrun's environment variables, once.

    Without ``WORLD_SIZE`` > 1 this is a single process and nothing is initialised. A collective
    that waits longer than ``timeout_s`` (``DAEKIT_DIST_TIMEOUT``, default 120 s) — a peer died —
    raises instead of hanging.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        timeout = float(timeout_s or os.environ.get("DAEKIT_DIST_TIMEOUT", "120"))
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
        if backend == "gloo":
            atexit.register(_destroy_process_group)
    return DistributedContext(rank, world, local_rank)


def _destroy_process_group() -> None:
    """Tear the gloo group down before interpreter finalisation (local: it does not wait for the
    other ranks, so it is safe after a peer has died). Only a partial guard against the shutdown
    SIGABRT described in :func:`end_rank_process`: a DistributedDataParallel wrapper keeps the
    group, and its worker threads, alive past this call."""
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_device(device: torch.device, ctx: DistributedContext) -> torch.device:
    """Each rank on its own GPU (``cuda:LOCAL_RANK``); the CPU is shared."""
    if device.type == "cuda" and ctx.enabled:
        return torch.device("cuda", ctx.local_rank)
    return device


class ObjectiveModule(nn.Module):
    """``forward(batch, generator)`` = ``objective(model, batch, generator)``, so that
    DistributedDataParallel can wrap the whole objective (it hooks ``forward``) while objectives
    keep calling model methods such as ``loss``."""

    def __init__(self, model: nn.Module, objective: Callable[..., Tensor]) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, batch: tuple[Tensor, ...], generator: torch.Generator, objective: Any = None) -> Tensor:
        return (objective or self.objective)(self.model, batch, generator)


def end_rank_process(code: int = 0) -> NoReturn:
    """End a torchrun rank's process with ``code`` without interpreter finalisation.

    gloo's worker threads release the tensors of the last collectives after the caller has moved
    on, and releasing them takes the GIL; if that happens while the interpreter is shutting down,
    the thread is unwound through C++ and the rank dies in SIGABRT after a successful run (seen
    in about 1 of 25 two-rank runs here). Tearing the group down first and leaving through
    ``os._exit`` after flushing avoids the race entirely.
    """
    _destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
