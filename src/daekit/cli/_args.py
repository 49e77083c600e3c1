"""Argument types and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def int_list(text: str) -> list[int]:
    """'1000,1000,1000' -> [1000, 1000, 1000]."""
    return [positive_int(t) for t in text.split(",") if t.strip()]


def float_list(text: str) -> list[float]:
    """'0.1,0.2,0.3' -> [0.1, 0.2, 0.3]."""
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def print_result(out: str | Path, result: dict[str, Any]) -> None:
    """Print the numbers of a run and where its files are."""
    for key, value in result.items():
        if value not in (None, ""):
            print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    out = Path(out)
    print(f"wrote {out}/:")
    for name in ("filters.png", "reconstructions.png", "metrics.jsonl", "model", "result.json", "config.json"):
        if (out / name).exists():
            print(f"  {out / name}")


def add_nproc_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nproc",
        type=positive_int,
        default=1,
        help="data-parallel processes on this machine (launches torchrun --standalone)",
    )


def launch_with_torchrun(args: argparse.Namespace) -> int | None:
    """When ``--nproc N`` > 1 and this is not already a torchrun worker, re-run the same command
    under ``torchrun --standalone --nproc_per_node N`` and return its exit code; else None."""
    import os
    import subprocess
    import sys

    if args.nproc <= 1 or "WORLD_SIZE" in os.environ:
        return None
    argv, rest, skip = list(args.argv), [], False
    for token in argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            rest.append(token)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={args.nproc}",
        "-m",
        "daekit",
        *rest,
    ]
    print("launching:", " ".join(cmd), flush=True)
    return subprocess.call(cmd)
