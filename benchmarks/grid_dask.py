"""The reproduction grid in process vs on a local Dask cluster, and successive halving vs the full
grid, on the same data sets at one budget, in one run.

    DAEKIT_DATA=/tmp/h29data python benchmarks/grid_dask.py --datasets rect,mnist --budget small \\
        --workers 2 --out-root /tmp/h29bench

Three runs, each into its own results folder under --out-root: the full grid with ``workers=1``
(in process), the full grid with ``workers=N`` (a LocalCluster of N single-threaded processes,
its start-up included in the wall time), and ``search="halving"`` in process. Reports the wall
time of each, the CPU time (this process and its finished children, ``getrusage``), the training
seconds of the cells, whether the two full-grid tables are identical cell for cell (selection,
validation and test error of every grid point), and for each cell the setting halving selects,
its test error, whether it lies inside the full grid's 95 % interval, and its training seconds
beside the full grid's. Prints Markdown tables and appends one JSON line to
benchmarks/results/grid_dask.jsonl.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import time
from pathlib import Path

# keep this folder off the path: no script here may shadow an installed package
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("_report", HERE / "_report.py")
_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_report)
append_result, machine_info = _report.append_result, _report.machine_info


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(**kwargs) -> dict:
    from daekit.reproduce import reproduce_vincent2010

    cpu, t0 = _cpu(), time.perf_counter()
    result = reproduce_vincent2010(**kwargs)
    return {"wall": time.perf_counter() - t0, "cpu": _cpu() - cpu, "result": result}


def _numbers(cell: dict) -> tuple:
    points = sorted(
        json.dumps([t["params"], t["valid_error"], t.get("valid_loss"), t.get("test_error")], sort_keys=True)
        for t in cell["trials"]
    )
    return (json.dumps(cell["selected"], sort_keys=True), cell["valid_error"], cell["test_error"], points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="rect")
    parser.add_argument("--budget", default="small")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--halving-factor", type=int, default=3)
    parser.add_argument("--out-root", default="/tmp/daekit_grid_dask")
    parser.add_argument("--skip-workers", action="store_true", help="only the in-process grid and halving")
    args = parser.parse_args()

    from daekit.reproduce import prepare_data, resolve_datasets
    from daekit.reproduce.table import selected

    names = resolve_datasets(args.datasets)
    for name in names:  # generate the data sets before any clock starts
        prepare_data(name, args.budget)
    root = Path(args.out_root)
    common = {"datasets": names, "budget": args.budget, "verbose": 1}
    many_key = f"grid, {args.workers} workers"
    runs = {"grid, 1 worker": _timed(out=root / "w1", workers=1, **common)}
    if not args.skip_workers:
        runs[many_key] = _timed(out=root / f"w{args.workers}", workers=args.workers, **common)
    runs["halving, 1 worker"] = _timed(
        out=root / "halving", workers=1, search="halving", halving_factor=args.halving_factor, **common
    )
    one, halving = runs["grid, 1 worker"]["result"], runs["halving, 1 worker"]["result"]
    pairs = [(d, m) for d in one["cells"] for m in one["cells"][d]]
    training = {
        k: sum(c["seconds"] for row in r["result"]["cells"].values() for c in row.values()) for k, r in runs.items()
    }

    print(
        "\n| run | wall s | CPU s (getrusage) | CPU s of the tasks | training s (clock, cells) | cells |\n"
        "|---|---|---|---|---|---|"
    )
    for k, r in runs.items():
        print(
            f"| {k} | {r['wall']:.0f} | {r['cpu']:.0f} | {r['result']['task_cpu_seconds']:.0f} | {training[k]:.0f} "
            f"| {len(r['result']['computed'])} |"
        )
    ratio = identical = None
    if many_key in runs:
        many = runs[many_key]["result"]
        identical = all(_numbers(one["cells"][d][m]) == _numbers(many["cells"][d][m]) for d, m in pairs)
        ratio = runs["grid, 1 worker"]["wall"] / runs[many_key]["wall"]
        print(
            f"\nwall-time ratio 1 → {args.workers} workers: {ratio:.2f}×; tables identical cell for cell: {identical}"
        )

    rows, inside = [], 0
    print(
        "\n| dataset | model | grid: selected | grid test % | halving: selected | halving test % | inside | "
        "grid training s | halving training s |\n|---|---|---|---|---|---|---|---|---|"
    )
    for d, m in pairs:
        g, h = one["cells"][d][m], halving["cells"][d][m]
        ok = abs(h["test_error"] - g["test_error"]) <= g["test_ci95"]
        inside += ok
        rows.append(
            {
                "dataset": d,
                "model": m,
                "grid_selected": g["selected"],
                "grid_test": g["test_error"],
                "grid_ci95": g["test_ci95"],
                "halving_selected": h["selected"],
                "halving_test": h["test_error"],
                "inside": ok,
                "grid_seconds": g["seconds"],
                "halving_seconds": h["seconds"],
            }
        )
        print(
            f"| {d} | {m} | {selected(g)} | {100 * g['test_error']:.2f} ±{100 * g['test_ci95']:.2f} | {selected(h)} "
            f"| {100 * h['test_error']:.2f} | {'yes' if ok else 'no'} | {g['seconds']:.0f} | {h['seconds']:.0f} |"
        )
    saving = training["grid, 1 worker"] / training["halving, 1 worker"]
    cpu_saving = one["task_cpu_seconds"] / halving["task_cpu_seconds"]
    print(
        f"\nhalving: {cpu_saving:.2f}× less CPU time of the tasks than the full grid ({saving:.2f}× less training "
        f"time by the clock); {inside} of {len(pairs)} cells inside the full grid's 95% interval"
    )
    append_result(
        "grid_dask",
        {
            "command": " ".join(sys.argv),
            "machine": machine_info(),
            "datasets": names,
            "budget": args.budget,
            "workers": args.workers,
            "halving_factor": args.halving_factor,
            "runs": {
                k: {
                    "wall": r["wall"],
                    "cpu": r["cpu"],
                    "task_cpu": r["result"]["task_cpu_seconds"],
                    "training": training[k],
                }
                for k, r in runs.items()
            },
            "wall_ratio": ratio,
            "identical": identical,
            "halving_saving": saving,
            "halving_cpu_saving": cpu_saving,
            "cells": rows,
        },
    )


if __name__ == "__main__":
    main()
