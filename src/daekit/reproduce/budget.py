"""The grids and training settings of a reproduction budget (``small``, ``paper``)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .published import NOISE_LEVELS

# DBN-3's RBM implementations: daekit.dbn.RBM_KINDS (repeated so that this module imports no torch).
_RBM_KINDS = ("daekit", "sklearn")


def checked_numbers(value: Any, name: str, kind: type, minimum: float, allow_equal: bool = True) -> tuple:
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence, got {value!r}") from None
    if not items:
        raise ValueError(f"{name} must not be empty")
    for v in items:
        bad = isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int)
        if bad or not math.isfinite(v) or v < minimum or (not allow_equal and v == minimum):
            raise ValueError(
                f"{name} must hold {'numbers' if kind is float else 'integers'} "
                f"{'>=' if allow_equal else '>'} {minimum}, got {value!r}"
            )
    return tuple(kind(v) for v in items)


def _optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1 or None, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Budget:
    """The grids and training settings of one reproduction budget.

    ``max_train`` / ``max_valid`` / ``max_test`` cap each split (a seeded random subset; None:
    the whole split). ``svm_gamma`` are multiples of 1 / (n_features · Var(x_train)).
    ``svm_grid_max_train`` caps the training examples each SVM of the grid sees (the chosen
    (C, γ) is still refitted on all of training + validation). The stacked models use
    ``n_layers`` hidden layers of one width from ``widths``, ``pretrain_epochs`` per layer, SGD
    with minibatches of ``batch_size``, and at most ``finetune_epochs`` of fine-tuning with
    early stopping after ``patience`` epochs without a lower validation error; with
    ``finetune_min_updates``, a training set too small for that many SGD updates in
    ``finetune_epochs`` gets both the epoch cap and the patience scaled up by the same factor
    (:meth:`finetune_schedule`: 1 000 rectangles give 50 updates per epoch, so 60 epochs with
    patience 10 would stop after as few as 500 updates). SdA-3's third grid
    axis is ``noise_levels`` (ν), DBN-3's is ``rbm_lrs`` (the RBMs' learning rate, minibatches of
    ``rbm_batch_size``).

    ``rbm`` picks DBN-3's RBMs (:data:`daekit.dbn.RBM_KINDS`): ``"daekit"`` (default,
    :func:`daekit.rbm_training.train_rbm`: CD-1, momentum 0.5 then 0.9 after 5 epochs, weight decay 2e-4,
    centred gradients) or ``"sklearn"`` (scikit-learn's ``BernoulliRBM``: persistent CD, plain
    SGD; on dense-background inputs it leaves nearly constant hidden units, see :mod:`daekit.dbn`). The choice is part of DBN-3's cell
    settings, so cells computed with the other RBM are not reused.
    """

    name: str
    max_train: int | None
    max_valid: int | None
    max_test: int | None
    svm_C: tuple[float, ...]
    svm_gamma: tuple[float, ...]
    svm_grid_max_train: int | None
    widths: tuple[int, ...]
    pretrain_epochs: tuple[int, ...]
    finetune_epochs: int
    patience: int
    noise_levels: tuple[float, ...] = NOISE_LEVELS
    n_layers: int = 3
    batch_size: int = 20
    pretrain_lr: float = 0.01
    finetune_lrs: tuple[float, ...] = (0.1,)
    rbm_lrs: tuple[float, ...] = (0.05,)
    rbm_batch_size: int = 10
    rbm: str = "daekit"
    seed: int = 0
    finetune_min_updates: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"budget name must be a non-empty string, got {self.name!r}")
        for key in ("max_train", "max_valid", "max_test", "svm_grid_max_train", "finetune_min_updates"):
            object.__setattr__(self, key, _optional_int(getattr(self, key), key))
        object.__setattr__(self, "svm_C", checked_numbers(self.svm_C, "svm_C", float, 0.0, False))
        object.__setattr__(self, "svm_gamma", checked_numbers(self.svm_gamma, "svm_gamma", float, 0.0, False))
        object.__setattr__(self, "widths", checked_numbers(self.widths, "widths", int, 1))
        object.__setattr__(self, "pretrain_epochs", checked_numbers(self.pretrain_epochs, "pretrain_epochs", int, 1))
        levels = checked_numbers(self.noise_levels, "noise_levels", float, 0.0, False)
        if any(v >= 1 for v in levels):
            raise ValueError(f"noise_levels must be fractions in (0, 1), got {self.noise_levels!r}")
        object.__setattr__(self, "noise_levels", levels)
        for key in ("finetune_epochs", "patience", "n_layers", "batch_size", "rbm_batch_size"):
            (value,) = checked_numbers((getattr(self, key),), key, int, 1)
            object.__setattr__(self, key, value)
        (seed,) = checked_numbers((self.seed,), "seed", int, 0)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "rbm_lrs", checked_numbers(self.rbm_lrs, "rbm_lrs", float, 0.0, False))
        if self.rbm not in _RBM_KINDS:
            raise ValueError(f"rbm must be one of {list(_RBM_KINDS)}, got {self.rbm!r}")
        (value,) = checked_numbers((self.pretrain_lr,), "pretrain_lr", float, 0.0, False)
        object.__setattr__(self, "pretrain_lr", value)
        object.__setattr__(self, "finetune_lrs", checked_numbers(self.finetune_lrs, "finetune_lrs", float, 0.0, False))

    def replace(self, **changes: Any) -> Budget:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def data_settings(self) -> dict[str, Any]:
        return {"max_train": self.max_train, "max_valid": self.max_valid, "max_test": self.max_test, "seed": self.seed}

    def model_settings(self, model: str) -> dict[str, Any]:
        """The settings that determine the cell of ``model`` (stored in it, compared on reuse)."""
        if model == "SVMrbf":
            return {
                "svm_C": list(self.svm_C),
                "svm_gamma": list(self.svm_gamma),
                "svm_grid_max_train": self.svm_grid_max_train,
            }
        common = {
            "widths": list(self.widths),
            "pretrain_epochs": list(self.pretrain_epochs),
            "n_layers": self.n_layers,
            "finetune_epochs": self.finetune_epochs,
            "patience": self.patience,
            "batch_size": self.batch_size,
        }
        # a single fine-tuning learning rate keeps the key format of single-rate cells
        if len(self.finetune_lrs) == 1:
            common["finetune_lr"] = self.finetune_lrs[0]
        else:
            common["finetune_lrs"] = list(self.finetune_lrs)
        if self.finetune_min_updates is not None:
            common["finetune_min_updates"] = self.finetune_min_updates
        if model == "DBN-3":
            return {**common, "rbm": self.rbm, "rbm_lrs": list(self.rbm_lrs), "rbm_batch_size": self.rbm_batch_size}
        noise = list(self.noise_levels) if model == "SdA-3" else [0.0]
        return {**common, "noise_levels": noise, "pretrain_lr": self.pretrain_lr}

    def finetune_schedule(self, n_train: int) -> tuple[int, int]:
        """(epoch cap, patience) of fine-tuning on ``n_train`` examples."""
        if self.finetune_min_updates is None:
            return self.finetune_epochs, self.patience
        updates = self.finetune_epochs * math.ceil(n_train / self.batch_size)
        scale = max(1.0, self.finetune_min_updates / updates)
        return math.ceil(self.finetune_epochs * scale), math.ceil(self.patience * scale)

    def n_trials(self, model: str) -> int:
        if model == "SVMrbf":
            return len(self.svm_C) * len(self.svm_gamma)
        n = len(self.widths) * len(self.pretrain_epochs) * len(self.finetune_lrs)
        if model == "DBN-3":
            return n * len(self.rbm_lrs)
        return n * len(self.noise_levels) if model == "SdA-3" else n

    def describe(self) -> str:
        """One paragraph (Markdown) listing the exact grids."""
        caps = (
            ", ".join(
                f"{k.split('_')[1]} ≤ {v}"
                for k, v in (("max_train", self.max_train), ("max_valid", self.max_valid), ("max_test", self.max_test))
                if v is not None
            )
            or "full splits"
        )
        svm_cap = f" (grid on ≤ {self.svm_grid_max_train} training examples)" if self.svm_grid_max_train else ""
        rbm = "daekit RBM: CD-1, momentum, centred" if self.rbm == "daekit" else "scikit-learn BernoulliRBM, PCD"
        return (
            f"budget **{self.name}**: data {caps}; "
            f"SVMrbf C ∈ {{{', '.join(f'{c:g}' for c in self.svm_C)}}} × γ ∈ "
            f"{{{', '.join(f'{g:g}' for g in self.svm_gamma)}}}/(d·Var x){svm_cap}, refit on train+valid; "
            f"SAA-3/DBN-3/SdA-3: {self.n_layers} layers of width ∈ {{{', '.join(map(str, self.widths))}}} × "
            f"pretraining epochs ∈ {{{', '.join(map(str, self.pretrain_epochs))}}}, SdA-3 ν ∈ "
            f"{{{', '.join(f'{v:g}' for v in self.noise_levels)}}} (SAA-3 ν = 0); SGD batch {self.batch_size}, "
            f"pretraining lr {self.pretrain_lr:g} (DBN-3: RBM lr ∈ {{{', '.join(f'{v:g}' for v in self.rbm_lrs)}}}, "
            f"batch {self.rbm_batch_size}, {rbm}), "
            f"fine-tuning lr ∈ {{{', '.join(f'{v:g}' for v in self.finetune_lrs)}}} (from one pretrained stack) for ≤ {self.finetune_epochs} epochs, early stopping "
            f"(patience {self.patience}) on validation error"
            + (
                f" (both scaled up to at least {self.finetune_min_updates} updates on small training sets)"
                if self.finetune_min_updates
                else ""
            )
            + f"; grid ties broken by validation cross-entropy; seed {self.seed}."
        )


#: ``small``: every data set in a few minutes on one CPU thread (24 networks — SdA-3 12, SAA-3 4,
#: DBN-3 8 — and 4 + 1 SVMs per data set, on ≤ 2 000 training examples; about 25 CPU-minutes for the
#: whole table), with larger learning rates (pretraining 0.05, fine-tuning 0.3) for its few epochs.
#: ``paper``: the full training sets, widths 500 and 1000, 24 networks and 20 + 1 SVMs per data set
#: (about 36 CPU-hours for the whole table, resumable cell by cell and grid point by grid point;
#: full MNIST's SVM grid runs on a 10k subsample before the refit on all 60k). The paper itself
#: searched wider (up to 2 000 units, several learning rates); its table is the target, not these
#: grids. The measured costs and selections are in BENCHMARKS.md §5.
BUDGETS: dict[str, Budget] = {
    "small": Budget(
        name="small",
        max_train=2000,
        max_valid=2000,
        max_test=None,
        svm_C=(1.0, 10.0),
        svm_gamma=(0.5, 2.0),
        svm_grid_max_train=None,
        widths=(100, 300),
        pretrain_epochs=(2, 3),
        finetune_epochs=20,
        patience=5,
        batch_size=20,
        pretrain_lr=0.05,
        finetune_lrs=(0.3,),
        rbm_lrs=(0.05, 0.1),
        rbm_batch_size=10,
    ),
    "paper": Budget(
        name="paper",
        max_train=None,
        max_valid=None,
        max_test=None,
        svm_C=(0.1, 1.0, 10.0, 100.0),
        svm_gamma=(0.25, 0.5, 1.0, 2.0, 4.0),
        svm_grid_max_train=10_000,
        widths=(500, 1000),
        pretrain_epochs=(15, 30),
        finetune_epochs=60,
        patience=10,
        finetune_min_updates=30_000,
        batch_size=20,
        pretrain_lr=0.05,
        finetune_lrs=(0.5, 1.0, 2.0),
        rbm_lrs=(0.01, 0.05),
        rbm_batch_size=10,
    ),
}


def get_budget(budget: str | Budget) -> Budget:
    """A :class:`Budget` from its name (``"small"``, ``"paper"``) or itself."""
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, str) and budget.strip().lower() in BUDGETS:
        return BUDGETS[budget.strip().lower()]
    raise ValueError(f"budget must be one of {list(BUDGETS)} or a Budget, got {budget!r}")
