"""The splits of one data set as the models of a reproduction see them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .budget import Budget, get_budget
from .published import resolve_datasets


@dataclass
class ReproData:
    """The (possibly subsampled) splits of one data set, as the models see them."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    info: dict[str, Any] = field(default_factory=dict)


def subsample(x: np.ndarray, y: np.ndarray, cap: int | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if cap is None or cap >= len(x):
        return x, y
    keep = np.sort(rng.permutation(len(x))[:cap])
    return x[keep], y[keep]


def prepare_data(
    name: str,
    budget: str | Budget = "small",
    *,
    root: str | os.PathLike | None = None,
    sizes: Sequence[int] | None = None,
    random_state: int = 0,
) -> ReproData:
    """Load data set ``name`` with :func:`daekit.datasets.variants.load_variant` (``root``,
    ``sizes``, ``random_state`` are passed on; ``sizes`` shrinks the generated splits, e.g. for
    tests) and cap each split at the budget's ``max_*`` with a random subset drawn from the
    budget's seed (the same subset for every model)."""
    from ..datasets.variants import load_variant

    budget = get_budget(budget)
    (name,) = resolve_datasets([name])
    data = load_variant(name, root=root, random_state=random_state, sizes=sizes)
    rng = np.random.default_rng([budget.seed, 20100])
    parts = {}
    for split, cap in (("train", budget.max_train), ("valid", budget.max_valid), ("test", budget.max_test)):
        x, y = data.split(split)
        x, y = subsample(np.asarray(x, dtype=np.float32).reshape(len(x), -1), np.asarray(y, dtype=np.int64), cap, rng)
        if len(x) == 0:
            raise ValueError(f"data set {name!r} has no {split} examples (sizes={sizes!r})")
        parts[split] = (x, y)
    info = {
        "dataset": name,
        "random_state": int(random_state),
        "sizes": None if sizes is None else list(sizes),
        "sha256": data.sha256,
        "n_train": len(parts["train"][0]),
        "n_valid": len(parts["valid"][0]),
        "n_test": len(parts["test"][0]),
        "available": list(data.sizes),
    }
    return ReproData(name, *parts["train"], *parts["valid"], *parts["test"], int(data.n_classes), info)
