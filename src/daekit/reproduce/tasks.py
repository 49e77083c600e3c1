"""The tasks of a reproduction grid: pure functions of their settings, run on any worker.

A :class:`PointTask` computes grid points of one cell (one SVM (C, γ), or one pretrained stack
fine-tuned at some learning rates) and writes each point atomically to the cell's trial cache
(``OUT/cells/NAME/MODEL.trials/KEY.json``) under a claim (:mod:`daekit.reproduce.claims`), so
that two workers or two runs never compute one point. A :class:`CellTask` assembles a cell from
its cached points (selection on validation; the SVM's refit) and writes it. Both load the data
themselves (once per process), seed everything from the budget, and return small outcome
dicts: ``status`` is ``"computed"``, ``"cached"``, ``"busy"`` (claimed by a live process
elsewhere: try again later) or ``"failed"`` (with ``error``); a ``"computed"`` one also has
``cpu_seconds``, the process CPU time of the computation (one thread: its cost, whatever the load).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..utils.atomic import write_json
from .budget import Budget
from .cells import cell_path, cell_settings, failure_path, make_cell, store_cell
from .claims import try_claim
from .data import ReproData, prepare_data
from .trials import TrialCache, point_key


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Limit torch's and the BLAS libraries' CPU threads (numpy, scikit-learn) for the duration."""
    if threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class CellSpec:
    """One (data set, model) cell of a reproduction and where and how to compute it.
    ``search`` is None for the full grid, else the search's description (stored in the cell)."""

    dataset: str
    model: str
    budget: Budget
    out: str
    sizes: tuple[int, ...] | None = None
    root: str | None = None
    device: str = "auto"
    threads: int | None = 1
    search: tuple[tuple[str, Any], ...] | None = None

    def settings(self) -> dict[str, Any]:
        return cell_settings(
            self.dataset, self.budget, self.model, self.sizes, search=None if self.search is None else dict(self.search)
        )

    @property
    def path(self) -> Path:
        return cell_path(self.out, self.dataset, self.model)

    @property
    def folder(self) -> Path:
        return self.path.with_suffix(".trials")

    def finished(self) -> dict[str, Any] | None:
        """The finished cell in ``out`` if it was computed with these settings."""
        try:
            cell = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return cell if cell.get("settings") == self.settings() else None


@functools.lru_cache(maxsize=2)
def _data(dataset: str, budget: Budget, root: str | None, sizes: tuple[int, ...] | None) -> ReproData:
    return prepare_data(dataset, budget, root=root, sizes=sizes)


def load_data(cell: CellSpec) -> ReproData:
    """The data of ``cell``, loaded once per process (the last two data sets are kept)."""
    return _data(cell.dataset, cell.budget, cell.root, cell.sizes)


def _cache(cell: CellSpec, data: ReproData) -> TrialCache:
    return TrialCache(cell.folder, cell.settings(), data.info.get("sha256"))


def _worker() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


@dataclass(frozen=True)
class PointTask:
    """Grid points of ``cell`` that share their work: one SVM (``params`` = C, γ factor), or one
    pretrained stack (``params`` = width, pretraining epochs, ν or RBM lr) fine-tuned at each of
    ``lrs``; trained with ``resource`` (fraction of the budget, 1 = the budget itself)."""

    cell: CellSpec
    params: tuple[tuple[str, Any], ...]
    lrs: tuple[float, ...] = ()
    resource: float = 1.0
    cost: float = field(default=1.0, compare=False)

    def point_params(self) -> list[dict[str, Any]]:
        base = dict(self.params)
        return [base] if self.cell.model == "SVMrbf" else [{**base, "finetune_lr": lr} for lr in self.lrs]

    def keys(self) -> list[str]:
        return [point_key(p, self.resource) for p in self.point_params()]

    @property
    def claim_path(self) -> Path:
        return self.cell.folder / f"{point_key(dict(self.params), self.resource)}.claim"

    def label(self) -> str:
        shown = " ".join(f"{k}={v:g}" for k, v in self.params)
        return f"{self.cell.dataset} {self.cell.model} {shown}" + (
            f" at {self.resource:.3g} of the budget" if self.resource != 1.0 else ""
        )


def _records_of_finished_cell(task: PointTask, cell: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The points of ``task`` in a finished ``cell`` (None if one is not there); stored
    parameters are matched by value (they read back with their keys sorted)."""

    def find(params: dict[str, Any]) -> dict[str, Any] | None:
        return next(
            (
                t
                for t in cell.get("trials", [])
                if t.get("resource", 1.0) == task.resource and all(t["params"].get(k) == v for k, v in params.items())
            ),
            None,
        )

    found = [find(p) for p in task.point_params()]
    points = [r for r in found if r is not None]
    return points if len(points) == len(found) else None


def _compute(task: PointTask, data: ReproData, cache: TrialCache, verbose: int) -> list[dict[str, Any]]:
    from .networks import stack_records
    from .svm import svm_record

    cell = task.cell
    if cell.model == "SVMrbf":
        return [svm_record(data, cell.budget, dict(task.params), cache, verbose, task.resource)]
    return stack_records(
        cell.model, data, cell.budget, dict(task.params), task.lrs, cache, cell.device, verbose, task.resource
    )


def run_point(task: PointTask, verbose: int = 0) -> dict[str, Any]:
    """Compute the grid points of ``task`` unless cached or claimed elsewhere (see the module
    docstring for the outcome). An exception is recorded in ``KEY.error.json`` beside the points
    (removed once they are computed) and returned, never raised."""
    t0 = time.perf_counter()
    outcome: dict[str, Any] = {"keys": task.keys(), "records": [], **_worker()}
    try:
        finished = task.cell.finished()
        if finished is not None and (records := _records_of_finished_cell(task, finished)) is not None:
            return {**outcome, "status": "cached", "records": records}
        data = load_data(task.cell)
        cache = _cache(task.cell, data)
        stored = [cache.get(k) for k in task.keys()]
        if all(r is not None for r in stored):
            return {**outcome, "status": "cached", "records": stored}
        claim = try_claim(task.claim_path)
        if claim is None:
            return {**outcome, "status": "busy"}
        with claim, thread_limit(task.cell.threads):
            # read again under the claim: the last claimant, or the whole cell, may have finished since
            finished = task.cell.finished()
            if finished is not None and (records := _records_of_finished_cell(task, finished)) is not None:
                return {**outcome, "status": "cached", "records": records}
            fresh = [cache.get(k) is None for k in task.keys()]
            cpu = time.process_time()
            records = _compute(task, data, cache, verbose)
            cpu = time.process_time() - cpu
        if not any(fresh):
            return {**outcome, "status": "cached", "records": records}
        for key in task.keys():
            (task.cell.folder / f"{key}.error.json").unlink(missing_ok=True)
        return {
            **outcome,
            "status": "computed",
            "records": records,
            "fresh": fresh,
            "keys": [k for k, f in zip(task.keys(), fresh) if f],
            "wall_seconds": time.perf_counter() - t0,
            "cpu_seconds": cpu,
        }
    except Exception as exc:  # recorded for the table; the rest of the grid goes on
        error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(OSError):
            task.cell.folder.mkdir(parents=True, exist_ok=True)
            for key in task.keys():
                write_json(
                    task.cell.folder / f"{key}.error.json",
                    {"error": error, "traceback": traceback.format_exc(), "task": task.label(), **_worker()},
                )
        return {**outcome, "status": "failed", "error": error}


@dataclass(frozen=True)
class CellTask:
    """Assemble ``cell`` from its cached points ``keys`` (all kept in the cell's ``trials``),
    selecting among ``final`` (default: all of them), and write it."""

    cell: CellSpec
    keys: tuple[str, ...]
    final: tuple[str, ...] | None = None

    def label(self) -> str:
        return f"{self.cell.dataset} {self.cell.model}"


def _missing_errors(cell: CellSpec, missing: list[str]) -> dict[str, str]:
    errors = {}
    for key in missing:
        try:
            errors[key] = json.loads((cell.folder / f"{key}.error.json").read_text())["error"]
        except (OSError, ValueError, KeyError):
            errors[key] = "not computed (its task never finished)"
    return errors


def run_cell_task(task: CellTask, verbose: int = 0) -> dict[str, Any]:
    """Write the cell of ``task`` (outcome ``cell``) or, if some of its points are missing, its
    failure record :func:`~daekit.reproduce.cells.failure_path` (outcome ``failed`` and
    ``errors``: point key → error)."""
    from .networks import select_network
    from .svm import select_svm

    cell = task.cell
    outcome: dict[str, Any] = {"keys": [], "records": [], **_worker()}
    try:
        finished = cell.finished()
        if finished is not None:
            return {**outcome, "status": "cached", "cell": finished}
        t0 = time.perf_counter()
        data = load_data(cell)
        cache = _cache(cell, data)
        stored = {k: cache.get(k) for k in task.keys}
        missing = [k for k, r in stored.items() if r is None]
        if missing:
            errors = _missing_errors(cell, missing)
            write_json(
                failure_path(cell.out, cell.dataset, cell.model),
                {
                    "dataset": cell.dataset,
                    "model": cell.model,
                    "settings": cell.settings(),
                    "n_points": len(task.keys),
                    "n_failed": len(missing),
                    "errors": errors,
                },
            )
            return {
                **outcome,
                "status": "failed",
                "errors": errors,
                "error": f"{len(missing)} of {len(task.keys)} grid points failed",
            }
        records = {k: r for k, r in stored.items() if r is not None}  # all of them: none is missing
        claim = try_claim(cell.path.with_suffix(".claim"))
        if claim is None:
            return {**outcome, "status": "busy"}
        trials = list(records.values())
        final = [records[k] for k in (task.final or task.keys)]
        with claim, thread_limit(cell.threads):
            if (finished := cell.finished()) is not None:  # written by the last claimant meanwhile
                return {**outcome, "status": "cached", "cell": finished}
            cpu = time.process_time()
            if cell.model == "SVMrbf":
                body = {**select_svm(data, final, verbose), "trials": trials}
            else:
                body = {**select_network(cell.model, data.name, final), "trials": trials}
            result = store_cell(
                cell.out, make_cell(data, cell.model, cell.budget, cell.settings(), body, time.perf_counter() - t0)
            )
        return {**outcome, "status": "computed", "cell": result, "cpu_seconds": time.process_time() - cpu}
    except Exception as exc:
        return {**outcome, "status": "failed", "error": f"{type(exc).__name__}: {exc}", "errors": {}}
