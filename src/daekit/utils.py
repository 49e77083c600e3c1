"""Small helpers shared by the package: parameter checks, devices, generators."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

__all__ = [
    "check_fraction",
    "check_positive",
    "check_positive_int",
    "check_choice",
    "resolve_device",
    "make_generator",
    "per_example",
    "peak_rss_mb",
]


def _check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_fraction(value: Any, name: str) -> float:
    """Return ``value`` as a float in [0, 1] or raise ``ValueError`` naming ``name``."""
    value = _check_real(value, name)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return value


def check_positive(value: Any, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or ≥ 0) or raise ``ValueError`` naming ``name``."""
    value = _check_real(value, name)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value


def check_positive_int(value: Any, name: str, allow_zero: bool = False) -> int:
    """Return ``value`` as an int ≥ 1 (or ≥ 0) or raise ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '>= 1'}, got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices`` or raise ``ValueError`` naming ``name``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None) picks CUDA when present, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available")
    return dev


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (a random seed when None)."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


def per_example(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-example vector (N,) so that it broadcasts against ``like`` (N, ...)."""
    return values.reshape(values.shape[0], *([1] * (like.dim() - 1)))


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB: ``VmHWM`` of /proc/self/status where there is
    one (``ru_maxrss`` on Linux survives ``exec`` and would report the parent's peak), else
    ``getrusage``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
