"""Where the tasks of a grid run: in this process, or on a Dask cluster (``dask.distributed``).

An executor has ``submit(fn, task, rank, cost)`` → handle and ``wait(timeout)`` → the
``(handle, outcome)`` pairs finished by then; in process, tasks run by ``rank`` (lowest first,
then in order); on Dask, the costliest first, so the longest tasks do not end the grid alone. :func:`grid_executor` picks one: ``workers=1``
without a scheduler runs in process (no Dask needed); ``workers=N > 1`` starts a
``LocalCluster`` of N single-threaded worker processes; ``scheduler`` (an address such as
``tcp://HOST:8786``, or a ``distributed.Client``) uses a running cluster. Dask reschedules the
tasks of a worker that dies on the others.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)

EXTRA = "daekit[distributed]"


class InProcessExecutor:
    """Runs one task in this process per ``wait``: the lowest ``rank`` first, ties in order."""

    workers = 1
    dashboard = None

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Callable, Any]] = []
        self._next = 0

    def submit(self, fn: Callable, task: Any, rank: float = 0.0, cost: float = 0.0) -> int:
        self._next += 1
        heapq.heappush(self._queue, (rank, self._next, fn, task))
        return self._next

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        if not self._queue:
            return []
        _, handle, fn, task = heapq.heappop(self._queue)
        return [(handle, fn(task))]


class DaskExecutor:
    """Submits each task to a ``distributed.Client``; a task whose worker died too often
    (``distributed.scheduler.allowed-failures``) comes back as a failed outcome."""

    def __init__(self, client) -> None:
        self.client = client
        self._futures: dict[str, Any] = {}
        self.dashboard = None
        with contextlib.suppress(Exception):
            self.dashboard = client.dashboard_link

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def submit(self, fn: Callable, task: Any, rank: float = 0.0, cost: float = 0.0) -> str:
        # Dask runs higher priorities first; its priorities are integers
        future = self.client.submit(fn, task, pure=False, priority=int(min(cost, 2**62)))
        self._futures[future.key] = future
        return future.key

    def wait(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        from distributed import wait

        if not self._futures:
            return []
        try:
            done, _ = wait(list(self._futures.values()), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        finished = []
        for future in done:
            self._futures.pop(future.key, None)
            try:
                finished.append((future.key, future.result()))
            except Exception as exc:  # KilledWorker, a cancelled future...
                finished.append(
                    (
                        future.key,
                        {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "keys": [], "records": []},
                    )
                )
        return finished


def _distributed():
    try:
        import distributed
    except ImportError:
        return None
    return distributed


def check_workers(workers: int | None, scheduler: Any = None) -> int:
    """``workers`` validated (None: the number of cores); ValueError naming the extra to install
    when more than one worker, or a scheduler, is asked for without Dask."""
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if (workers > 1 or scheduler is not None) and _distributed() is None:
        what = f"scheduler={scheduler!r}" if scheduler is not None else f"workers={workers}"
        raise ValueError(f"{what} needs Dask (dask.distributed); install the extra: pip install '{EXTRA}'")
    return workers


@contextlib.contextmanager
def grid_executor(
    workers: int | None = 1, scheduler: Any = None, *, dashboard_address: str | None = ":0"
) -> Iterator[InProcessExecutor | DaskExecutor]:
    """The executor for ``workers`` / ``scheduler`` (see the module docstring); a cluster
    started here is closed on exit. The dashboard's address is logged when there is one."""
    workers = check_workers(workers, scheduler)
    if scheduler is None and workers == 1:
        yield InProcessExecutor()
        return
    distributed = _distributed()
    if scheduler is not None and not isinstance(scheduler, str):  # a Client the caller owns
        yield DaskExecutor(scheduler)
        return
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=dashboard_address
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
            logger.info("started a local Dask cluster of %d single-threaded worker processes", workers)
        else:
            client = stack.enter_context(distributed.Client(scheduler))
            logger.info("connected to the Dask scheduler at %s", scheduler)
        executor = DaskExecutor(client)
        if executor.dashboard:
            logger.info("Dask dashboard: %s", executor.dashboard)
        yield executor
