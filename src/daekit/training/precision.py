"""The precision of the training steps of :func:`daekit.training.loop.fit`.

``TrainConfig.precision="bfloat16"`` computes the steps' matrix products in bfloat16: the
hand-written (fused) steps receive ``compute_dtype=torch.bfloat16`` and cast a per-step copy of
the float32 weights; every other objective runs under :func:`torch.autocast`. Parameters,
updates and validation stay in float32 (:mod:`daekit.numerics.precision`).
"""

from __future__ import annotations

import warnings
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from ..numerics.precision import bfloat16_is_native, compute_dtype

__all__ = ["StepPrecision"]


class StepPrecision:
    """The low-precision choice of one phase on ``device``.

    ``autocast`` is the context of an autograd step (:func:`torch.autocast` to bfloat16, or a
    no-op in float32) and ``fused_kwargs`` the keyword arguments of a fused step (``{}`` in
    float32). Constructing it with bfloat16 on a device without native bfloat16 matrix units
    issues a :class:`RuntimeWarning` (the products are emulated, likely slower than float32),
    attributed to the line that constructs it.
    """

    def __init__(self, precision: str, device: torch.device) -> None:
        low = compute_dtype(precision)
        if low is not None and not bfloat16_is_native(device):
            warnings.warn(
                f"precision={precision!r}: {device} has no native bfloat16 matrix units, so the "
                "products are emulated and likely slower than float32",
                RuntimeWarning,
                stacklevel=2,
            )
        self.autocast: AbstractContextManager[Any] = (
            torch.autocast(device.type, dtype=low) if low is not None else nullcontext()
        )
        self.fused_kwargs: dict[str, Any] = {"compute_dtype": low} if low is not None else {}
