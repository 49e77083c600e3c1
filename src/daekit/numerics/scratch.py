"""Work arrays that hand-written training steps reuse from one step to the next.

A step of a small network at batch 20 spends as long allocating and first-touching its
temporaries as computing them; keeping them per (batch size, dtype, device) removes that. The
arrays are scratch space, not state: they are dropped when a module is pickled or copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["ScratchSpace"]

_ATTR = "_scratch_arrays"


class ScratchSpace:
    """Mixin for an ``nn.Module``: ``self._scratch(key, shapes, dtype, device)`` returns empty
    tensors of ``shapes``, the same ones on every call with the same arguments."""

    def _scratch(
        self, key: Any, shapes: Sequence[tuple[int, ...]], dtype: torch.dtype, device: torch.device
    ) -> tuple[Tensor, ...]:
        cache = self.__dict__.setdefault(_ATTR, {})
        full_key = (key, tuple(map(tuple, shapes)), dtype, device)
        if full_key not in cache:
            if len(cache) >= 6:  # e.g. a short last batch each epoch: never grow without bound
                cache.clear()
            cache[full_key] = tuple(torch.empty(s, dtype=dtype, device=device) for s in shapes)
        return cache[full_key]

    def _rounded_copies(self, tensors: Sequence[Tensor], dtype: torch.dtype) -> list[Tensor]:
        """``tensors`` copied to ``dtype`` in reused arrays (a training step's low-precision weights)."""
        copies = self._scratch("rounded", [tuple(t.shape) for t in tensors], dtype, tensors[0].device)
        return [c.copy_(t) for c, t in zip(copies, tensors)]

    def __getstate__(self) -> dict[str, Any]:
        # object.__getstate__ exists from Python 3.11 on (hasattr covers 3.10), which the 3.10 stubs lack
        state = dict(super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__)  # type: ignore[misc]
        state.pop(_ATTR, None)
        return state
