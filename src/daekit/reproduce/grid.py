"""The grid of a reproduction as a flat set of tasks, run on any executor.

Each cell (data set × model) has a *plan*: a generator of stages, each a list of tasks run in
parallel, the next stage made from the outcomes of the last. The full grid (:class:`GridPlan`)
has two stages: every grid point (a pretrained stack with its fine-tuning rates, or one SVM), then
the cell (selection on validation, the SVM refit). Successive halving
(:class:`daekit.reproduce.halving.HalvingPlan`) has one stage per rung. :func:`run_grid` runs the
stages of all cells at once on an executor (:mod:`daekit.reproduce.executors`), with one progress
bar over every grid point (points done / total, CPU time, time left). Results depend only on
each task's settings (seeds come from the budget), so they are the same for any number of
workers and any order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any

from .networks import network_stacks
from .svm import svm_points
from .tasks import CellSpec, CellTask, PointTask, run_cell_task, run_point

Stage = list  # of PointTask / CellTask
Plan = Generator[Stage, list[dict[str, Any]], None]


def task_cost(
    cell: CellSpec, params: dict[str, Any], n_lrs: int, resource: float, n_train: int, n_features: int
) -> float:
    """A rough count of multiply-adds of a task, to start the longest first: an SVM fit grows as
    n² · d, a stack as examples × epochs × the weights of its layers."""
    budget = cell.budget
    if cell.model == "SVMrbf":
        n = min(n_train, budget.svm_grid_max_train or n_train) * resource
        return 10.0 * n * n * n_features
    width = params["width"]
    weights = n_features * width + (budget.n_layers - 1) * width * width
    epochs = params["pretrain_epochs"] * budget.n_layers + budget.finetune_schedule(n_train)[0] * n_lrs
    return 6.0 * n_train * weights * epochs * resource


def point_tasks(
    cell: CellSpec, candidates: Sequence[dict[str, Any]], resource: float, n_train: int, n_features: int
) -> list[PointTask]:
    """The tasks computing the grid points ``candidates`` (in grid order) of ``cell``; for the
    networks, the points of one pretrained stack make one task (pretrained once)."""
    if cell.model == "SVMrbf":
        return [
            PointTask(cell, tuple(p.items()), (), resource, task_cost(cell, p, 0, resource, n_train, n_features))
            for p in candidates
        ]
    stacks: dict[tuple, list[float]] = {}
    for p in candidates:
        stacks.setdefault(tuple((k, v) for k, v in p.items() if k != "finetune_lr"), []).append(p["finetune_lr"])
    return [
        PointTask(
            cell, stack, tuple(lrs), resource, task_cost(cell, dict(stack), len(lrs), resource, n_train, n_features)
        )
        for stack, lrs in stacks.items()
    ]


def grid_candidates(cell: CellSpec) -> list[dict[str, Any]]:
    """Every grid point of ``cell``, in grid order."""
    if cell.model == "SVMrbf":
        return svm_points(cell.budget)
    return [
        {**s, "finetune_lr": lr} for s in network_stacks(cell.model, cell.budget) for lr in cell.budget.finetune_lrs
    ]


class GridPlan:
    """The full grid of ``cell``: all its points, then the cell."""

    def __init__(self, cell: CellSpec, n_train: int, n_features: int) -> None:
        self.cell, self.n_train, self.n_features = cell, n_train, n_features
        self.candidates = grid_candidates(cell)
        self.n_points = len(self.candidates)

    def stages(self) -> Plan:
        tasks = point_tasks(self.cell, self.candidates, 1.0, self.n_train, self.n_features)
        yield tasks
        keys = tuple(k for t in tasks for k in t.keys())
        yield [CellTask(self.cell, keys)]


def _runner(task) -> Callable[[Any], dict[str, Any]]:
    return run_cell_task if isinstance(task, CellTask) else run_point


def _cpu_text(seconds: float) -> str:
    return f"{seconds / 3600:.2f} CPU-h" if seconds >= 3600 else f"{seconds / 60:.1f} CPU-min"


def run_grid(
    plans: Sequence[Any],
    executor,
    *,
    verbose: int = 1,
    poll: float = 1.0,
    on_cell: Callable[[CellSpec, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run every stage of ``plans`` on ``executor``; a task claimed by a live process elsewhere
    is tried again every ``poll`` seconds until its points are there (or its claim is stale).
    ``on_cell(cell, outcome)`` is called as each cell finishes or fails.

    Returns ``cells`` (``{(dataset, model): cell}`` finished; ``cell_status`` says which were
    ``computed`` here and which ``cached``, written by another run meanwhile), ``failed``
    (``{(dataset, model): {"error", "errors"}}``), ``points`` (``computed`` / ``cached`` /
    ``failed``: point keys as ``dataset/model/key``), ``cpu_seconds`` (training time of the points
    and SVM refits computed by this call, timed by the clock), ``dataset_seconds`` (the same per
    data set), ``task_cpu_seconds`` (the process CPU time of the tasks computed: what they cost
    whatever else runs on the machine) and ``wall_seconds``.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    report: dict[str, Any] = {
        "cells": {},
        "failed": {},
        "points": {"computed": [], "cached": [], "failed": []},
        "cpu_seconds": 0.0,
        "dataset_seconds": {},
        "cell_status": {},
        "task_cpu_seconds": 0.0,
    }
    gens = [plan.stages() for plan in plans]
    stages: list[list] = [[] for _ in plans]
    outcomes: list[Any] = [None for _ in plans]
    pending: dict[Any, tuple[int, int]] = {}
    retry: list[tuple[float, int, int]] = []
    bar = tqdm(total=sum(p.n_points for p in plans), unit="point", desc="grid", disable=None if verbose else True)

    def submit(i: int, j: int) -> None:
        task = stages[i][j]
        cost = math.inf if isinstance(task, CellTask) else task.cost
        pending[executor.submit(_runner(task), task, i, 2**62 if cost == math.inf else cost)] = (i, j)

    def advance(i: int) -> None:
        while True:  # the next non-empty stage of plan i, if any
            try:
                stage = gens[i].send(outcomes[i])  # the outcomes of the last stage (None: start)
            except StopIteration:
                return
            stages[i], outcomes[i] = stage, [None] * len(stage)
            for j in range(len(stage)):
                submit(i, j)
            if stage:
                return

    for i in range(len(plans)):
        advance(i)
    while pending or retry:
        now = time.monotonic()
        for item in [r for r in retry if r[0] <= now]:
            retry.remove(item)
            submit(item[1], item[2])
        done = executor.wait(poll)
        if not done and not pending and retry:
            time.sleep(max(0.0, min(r[0] for r in retry) - time.monotonic()))
        for handle, outcome in done:
            i, j = pending.pop(handle)
            task = stages[i][j]
            if outcome["status"] == "busy":
                retry.append((time.monotonic() + poll, i, j))
                continue
            outcomes[i][j] = outcome
            _account(task, outcome, report, bar, verbose)
            if isinstance(task, CellTask) and on_cell is not None:
                on_cell(task.cell, outcome)
            if all(o is not None for o in outcomes[i]):
                advance(i)
    bar.close()
    report["wall_seconds"] = time.perf_counter() - t0
    return report


def _spent(report: dict[str, Any], dataset: str, seconds: float) -> None:
    report["cpu_seconds"] += seconds
    report["dataset_seconds"][dataset] = report["dataset_seconds"].get(dataset, 0.0) + seconds


def _account(task, outcome: dict[str, Any], report: dict[str, Any], bar, verbose: int) -> None:
    cell = task.cell
    where = f"{cell.dataset}/{cell.model}"
    status = outcome["status"]
    report["task_cpu_seconds"] += outcome.get("cpu_seconds", 0.0)
    if isinstance(task, CellTask):
        if status == "failed":
            report["failed"][(cell.dataset, cell.model)] = {
                "error": outcome.get("error"),
                "errors": outcome.get("errors", {}),
            }
            if verbose:
                bar.write(f"  {task.label()}: FAILED ({outcome.get('error')})")
        else:
            c = outcome["cell"]
            report["cells"][(cell.dataset, cell.model)] = c
            report["cell_status"][(cell.dataset, cell.model)] = status  # cached: another run wrote it
            if status == "computed":
                _spent(report, cell.dataset, c.get("refit", {}).get("seconds", 0.0))
            if verbose:
                bar.write(
                    f"  {task.label()}: test {100 * c['test_error']:.2f} ±{100 * c['test_ci95']:.2f}%, "
                    f"valid {100 * c['valid_error']:.2f}%, {c['seconds']:.0f} s of training"
                )
        return
    keys = [f"{where}/{k}" for k in task.keys()]
    if status == "computed":  # some of the task's points may have been cached
        fresh = {f"{where}/{k}" for k in outcome["keys"]}
        report["points"]["computed"] += [k for k in keys if k in fresh]
        report["points"]["cached"] += [k for k in keys if k not in fresh]
    else:
        report["points"][status] += keys
    if status == "computed":
        computed = outcome.get("fresh") or [True] * len(outcome["records"])
        _spent(report, cell.dataset, sum(r["seconds"] for r, f in zip(outcome["records"], computed) if f))
    bar.update(len(keys))
    bar.set_postfix_str(_cpu_text(report["cpu_seconds"]), refresh=False)
    if status == "failed" and verbose:
        bar.write(f"  {task.label()}: FAILED ({outcome['error']})")
    elif verbose and status == "computed":
        valid = ", ".join(f"{100 * r['valid_error']:.2f}%" for r in outcome["records"])
        bar.write(
            f"    {task.label()}: valid {valid} ({sum(r['seconds'] for r in outcome['records']):.1f} s, "
            f"{outcome.get('host')}:{outcome.get('pid')})"
        )
