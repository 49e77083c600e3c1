"""The cost model of the reproduction grid from finished cells: CPU-hours per data set and model,
the grid's longest task (its critical path), and the wall time expected on W workers.

    python benchmarks/grid_cost_model.py [--cells benchmarks/results/vincent2010_paper/cells] [--workers 1 8 64 512]

The tasks are those :mod:`daekit.reproduce.grid` submits: one per pretrained stack (its
pretraining and every fine-tuning learning rate that starts from it: the sum of the seconds of
those grid points) and one per SVM (C, γ); an SVM cell adds its refit, which waits for all of
its cell's points. The wall time on W workers is simulated by list scheduling, the longest ready
task first (what daekit asks Dask for with task priorities), with each task taking the seconds
it took when the cell was computed (one thread); it is never below the critical path (the
longest chain: a stack, or an SVM point then its refit) nor below total / W. Prints Markdown.
"""

from __future__ import annotations

import argparse
import heapq
import json
from collections import defaultdict
from pathlib import Path


def tasks_of(cells_root: Path) -> tuple[dict[str, float], dict[str, set[str]], dict[tuple[str, str], float]]:
    """Task durations, their prerequisites, and the CPU seconds of every (data set, model)."""
    durations: dict[str, float] = {}
    needs: dict[str, set[str]] = defaultdict(set)
    cpu: dict[tuple[str, str], float] = {}
    for path in sorted(cells_root.glob("*/*.json")):
        if path.name.endswith(".failed.json"):
            continue
        cell = json.loads(path.read_text())
        dataset, model = cell["dataset"], cell["model"]
        cpu[(dataset, model)] = cell["seconds"]
        if model == "SVMrbf":
            points = [
                f"{dataset}/{model}/C{t['params']['C']:g}-g{t['params']['gamma_factor']:g}" for t in cell["trials"]
            ]
            durations.update({p: t["seconds"] for p, t in zip(points, cell["trials"])})
            refit = f"{dataset}/{model}/refit"
            durations[refit] = cell["refit"]["seconds"]
            needs[refit] = set(points)
            continue
        for t in cell["trials"]:
            stack = "-".join(f"{k}{v:g}" for k, v in sorted(t["params"].items()) if k != "finetune_lr")
            key = f"{dataset}/{model}/{stack}"
            durations[key] = durations.get(key, 0.0) + t["seconds"]
    return durations, needs, cpu


def critical_path(durations: dict[str, float], needs: dict[str, set[str]]) -> tuple[float, str]:
    """The longest chain of tasks (prerequisites are one level deep here) and its last task."""

    def chain(task: str) -> float:
        return durations[task] + max((durations[p] for p in needs.get(task, ())), default=0.0)

    last = max(durations, key=chain)
    return chain(last), last


def simulate(durations: dict[str, float], needs: dict[str, set[str]], workers: int) -> float:
    """Makespan of list scheduling on ``workers``, the longest ready task first."""
    waiting = {t: len(needs.get(t, ())) for t in durations}
    unlocks: dict[str, list[str]] = defaultdict(list)
    for task, prereqs in needs.items():
        for p in prereqs:
            unlocks[p].append(task)
    ready = [(-durations[t], t) for t, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now, idle = 0.0, workers
    while ready or running:
        while idle and ready:
            _, task = heapq.heappop(ready)
            heapq.heappush(running, (now + durations[task], task))
            idle -= 1
        now, task = heapq.heappop(running)
        idle += 1
        for child in unlocks[task]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (-durations[child], child))
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default=str(Path(__file__).with_name("results") / "vincent2010_paper" / "cells"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 64, 512])
    args = parser.parse_args()
    durations, needs, cpu = tasks_of(Path(args.cells))
    if not durations:
        raise SystemExit(f"no cells under {args.cells}")
    models = ["SVMrbf", "SAA-3", "DBN-3", "SdA-3"]
    datasets = sorted({d for d, _ in cpu}, key=lambda d: -sum(cpu.get((d, m), 0.0) for m in models))
    print("| dataset | " + " | ".join(models) + " | total | longest task |\n|---|" + "---|" * (len(models) + 2))
    for d in datasets:
        longest = max(v for k, v in durations.items() if k.startswith(f"{d}/"))
        print(
            f"| {d} | "
            + " | ".join(f"{cpu.get((d, m), 0.0) / 3600:.2f}" for m in models)
            + f" | {sum(cpu.get((d, m), 0.0) for m in models) / 3600:.2f} | {longest / 3600:.2f} |"
        )
    total = sum(durations.values())
    print(
        "| **all** | "
        + " | ".join(f"{sum(v for (_, m), v in cpu.items() if m == mm) / 3600:.2f}" for mm in models)
        + f" | **{total / 3600:.2f}** | |"
    )
    path, last = critical_path(durations, needs)
    print(
        f"\n{len(durations)} tasks, {total / 3600:.2f} CPU-hours; critical path {path / 3600:.2f} h (ends with {last})\n"
    )
    print(
        "| workers | simulated wall (h) | lower bound max(total/W, critical path) (h) | speed-up |\n|---|---|---|---|"
    )
    for w in args.workers:
        wall = simulate(durations, needs, w)
        bound = max(total / w, path)
        print(f"| {w} | {wall / 3600:.2f} | {bound / 3600:.2f} | {total / wall:.1f}× |")


if __name__ == "__main__":
    main()
