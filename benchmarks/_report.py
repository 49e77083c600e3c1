"""What every benchmark reports besides its table: the machine, and one JSON line in results/
(imported by the scripts beside this file)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import torch


def machine_info(**extra) -> dict:
    """CPU model, cores, torch threads and versions (plus ``extra``)."""
    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "threads": torch.get_num_threads(), "torch": torch.__version__, "python": sys.version.split()[0],
               **extra}
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
