"""What every benchmark reports besides its table: the machine, and one JSON line in results/
(imported by the scripts beside this file)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch


def machine_info(**extra) -> dict:
    """CPU model, cores, torch threads and versions (plus ``extra``)."""
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        **extra,
    }
    try:
        with open("/proc/cpuinfo") as f:
            machine["cpu"] = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return machine


def append_result(name: str, record: dict) -> None:
    """Append ``record``, stamped with the time, as one JSON line to ``results/NAME.jsonl``."""
    results = Path(__file__).with_name("results")
    results.mkdir(exist_ok=True)
    with open(results / f"{name}.jsonl", "a") as f:
        f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}) + "\n")


def timed_rounds(timers: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call every timer once per round, the order rotating from round to round, so that a ratio
    taken within a round compares measurements seconds apart (the same load from other jobs)."""
    seconds: dict[str, list[float]] = {name: [] for name in timers}
    names = list(timers)
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            seconds[name].append(timers[name]())
    return seconds


def round_ratios(numerators: list[float], denominators: list[float]) -> tuple[float, list[float]]:
    """The ratio within each round: its median over the rounds and its [min, max]."""
    ratios = [a / b for a, b in zip(numerators, denominators)]
    return statistics.median(ratios), [min(ratios), max(ratios)]
