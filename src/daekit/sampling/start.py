"""Starting points x0 of the samplers: uniform on [0, 1]ᵈ, zeros, or random data examples."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..utils.validation import check_choice, check_positive_int

__all__ = ["INITS", "starting_points"]

#: The kinds of starting points.
INITS = ("uniform", "zeros", "data")


def starting_points(
    init: str, n: int, d: int, generator: torch.Generator | None = None, data: str | None = None
) -> Tensor:
    """``n`` starting points in dimension ``d`` (float32): ``"uniform"`` on [0, 1]ᵈ (Song &
    Ermon 2019), ``"zeros"``, or ``"data"``: examples drawn with replacement from the test split
    (else the training split) of the data set ``data`` (a name of
    :func:`daekit.datasets.sources.load_dataset`)."""
    init = check_choice(init, "init", INITS)
    n = check_positive_int(n, "n")
    d = check_positive_int(d, "d")
    if init == "uniform":
        return torch.rand(n, d, generator=generator)
    if init == "zeros":
        return torch.zeros(n, d)
    from ..datasets.sources import load_dataset

    split = load_dataset(data or "auto")
    pool = np.asarray(split.x_test if split.x_test is not None else split.x_train, dtype=np.float32)
    if pool.shape[1] != d:
        raise ValueError(f"init 'data': the data set {split.name} has {pool.shape[1]} features but the model has {d}")
    idx = torch.randint(0, len(pool), (n,), generator=generator)
    return torch.as_tensor(pool[idx.numpy()])
