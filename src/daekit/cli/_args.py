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
