"""Mixed precision: matrix products in bfloat16, everything else in float32.

``precision="bfloat16"`` keeps the parameters, the element-wise work (sigmoids, losses, deltas)
and the SGD updates in float32 and rounds only the operands of the matrix products to bfloat16
(8 bits of mantissa), which bfloat16 units — Intel AMX and AVX512-BF16, recent GPUs — multiply
several times faster than float32. The hand-written steps do this through :func:`matmul_into`
and :func:`add_matmul_`; the autograd path through :func:`torch.autocast`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..utils.validation import check_choice

__all__ = ["PRECISIONS", "LOW_PRECISION_MIN_INNER", "compute_dtype", "bfloat16_is_native", "matmul_into", "add_matmul_"]

#: The values of ``precision`` (``TrainConfig``, ``StackedConfig``, the estimators, the CLI).
PRECISIONS = ("float32", "bfloat16")

#: A weight-gradient product with a shorter inner dimension (the batch size; twice it for a tied
#: DAE) stays in float32 under ``add_matmul_``: adding a low-precision result into float32 weights
#: is one more pass over them, which costs more than the whole float32 ``addmm_`` when the inner
#: dimension is small (on a Xeon with AMX, one thread, 1000×784: 0.36× at 20, 0.55× at 40, 1.6× at
#: 64, 3.1× at 512).
LOW_PRECISION_MIN_INNER = 64


def compute_dtype(precision: str) -> torch.dtype | None:
    """The dtype of the matrix products for ``precision``: None (the parameters' own) or bfloat16."""
    check_choice(precision, "precision", PRECISIONS)
    return torch.bfloat16 if precision == "bfloat16" else None


def bfloat16_is_native(device: torch.device | str) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware (CUDA with bf16 support, or a
    CPU with AMX or AVX512-BF16); elsewhere bfloat16 products are emulated and slower than float32."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # private, present since torch 2.3
        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)
    return False


def matmul_into(out: Tensor, a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """``out = a @ b (+ bias)``. When ``b`` has a lower precision than ``out`` (a weight already
    cast for this step), ``a`` is rounded to it, the product is computed in that precision and
    the result (plus the float32 bias) is written to ``out`` in ``out``'s precision."""
    if b.dtype == out.dtype:
        return torch.addmm(bias, a, b, out=out) if bias is not None else torch.mm(a, b, out=out)
    product = torch.mm(a.to(b.dtype), b)
    return torch.add(bias, product, out=out) if bias is not None else out.copy_(product)


def add_matmul_(target: Tensor, a: Tensor, b: Tensor, alpha: float, dtype: torch.dtype | None = None) -> Tensor:
    """``target += alpha · a @ b`` in place, the product computed in ``dtype`` and accumulated into
    ``target`` at its precision; in ``target``'s own precision, as one ``addmm_``, when ``dtype``
    is None or the same, or when the inner dimension is below :data:`LOW_PRECISION_MIN_INNER`."""
    if dtype is None or dtype == target.dtype or a.shape[1] < LOW_PRECISION_MIN_INNER:
        return target.addmm_(a, b, alpha=alpha)
    return target.add_(torch.mm(a.to(dtype), b.to(dtype)), alpha=alpha)
