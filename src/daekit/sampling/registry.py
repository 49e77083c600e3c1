"""Samplers by name: the registry pattern of score-SDE code's ``register_predictor``.

The built-in samplers (``chain``, ``langevin``, ``annealed``) register themselves when
:mod:`daekit.sampling` is imported.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

__all__ = ["SAMPLERS", "register_sampler", "get_sampler"]

#: Samplers by name.
SAMPLERS: dict[str, Callable[..., Tensor]] = {}


def register_sampler(name: str) -> Callable[[Callable[..., Tensor]], Callable[..., Tensor]]:
    """Decorator: add a sampler to :data:`SAMPLERS` under ``name`` (ValueError if taken)."""

    def decorator(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        if name in SAMPLERS:
            raise ValueError(f"a sampler named {name!r} is already registered")
        SAMPLERS[name] = fn
        return fn

    return decorator


def get_sampler(name: str) -> Callable[..., Tensor]:
    """The sampler registered as ``name`` (one of :data:`SAMPLERS`)."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}, got {name!r}") from None
