"""The settings of a stacked denoising autoencoder: layers, per-layer corruption, pretraining and
fine-tuning schedules."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, cast

import numpy as np
from torch import Tensor

from ..corruption import Identity, make_corruption
from ..distributions import DISTRIBUTIONS
from ..numerics.precision import PRECISIONS
from ..training.config import TrainConfig
from ..utils.runtime import resolve_device
from ..utils.validation import check_choice, check_positive, check_positive_int

#: Corruption kinds that take one noise level (the fraction ν, or σ for "gaussian").
CORRUPTION_KINDS = ("masking", "saltpepper", "gaussian", "none")


# Offsets that give every phase its own random streams from one base seed.
_PRETRAIN_SEED, _INIT_SEED, _FINETUNE_SEED, _NETWORK_INIT_SEED = 0, 10_000, 100_000, 200_000


def layer_corruption(
    kind: str, level: float, name: str = "corruption", level_name: str = "noise_level"
) -> Callable[..., Tensor]:
    """The corruption process of one layer: ``kind`` (one of :data:`CORRUPTION_KINDS`, optionally
    with an option such as ``"masking:bernoulli"``) at noise ``level``. Level 0 is no corruption
    (the ordinary autoencoder of SAA)."""
    if not isinstance(kind, str):
        raise TypeError(f"{name} must be a string such as 'masking', got {kind!r}")
    base, *options = kind.strip().lower().split(":")
    if base in ("salt-pepper", "salt_pepper"):
        base = "saltpepper"
    if base in ("identity",):
        base = "none"
    if base not in CORRUPTION_KINDS:
        raise ValueError(f"{name} must be one of {list(CORRUPTION_KINDS)} (e.g. 'masking'), got {kind!r}")
    level = check_positive(level, level_name, allow_zero=True)
    if level == 0.0 or base == "none":
        return Identity()
    try:
        return make_corruption(":".join([base, repr(float(level)), *options]))
    except ValueError as exc:
        raise ValueError(f"{level_name}={level!r} does not suit {name}={kind!r}: {exc}") from None


def _per_layer(value: Any, n_layers: int, name: str, kinds: tuple[type, ...]) -> tuple:
    """``value`` as a tuple of one entry per layer (a scalar is repeated)."""
    if isinstance(value, kinds) and not isinstance(value, (list, tuple, np.ndarray)):
        return (value,) * n_layers
    try:
        values = tuple(value)
    except TypeError:
        raise TypeError(
            f"{name} must be a single value or a sequence with one value per hidden layer, got {value!r}"
        ) from None
    if len(values) != n_layers:
        raise ValueError(f"{name} must have one value per hidden layer ({n_layers}), got {len(values)}: {value!r}")
    return values


@dataclass
class StackedConfig:
    """The whole recipe of a stacked (denoising) autoencoder classifier; validated on creation.

    ``corruption`` and ``noise_levels`` are one value for all layers or one per hidden layer.
    ``reconstruction`` is the first layer's reconstruction distribution ("bernoulli" cross-entropy
    for inputs in [0, 1], "gaussian" squared error, or "auto": bernoulli when the training inputs
    lie in [0, 1], else gaussian); the upper layers reconstruct sigmoid outputs in [0, 1] with the
    cross-entropy. ``precision`` ("float32" or "bfloat16") is that of the training steps' matrix
    products in pretraining and fine-tuning (:mod:`daekit.numerics.precision`).
    ``RESUMABLE`` names the fields a resumed run may change (:func:`daekit.runs.folder.check_resume`).
    """

    RESUMABLE: ClassVar[frozenset[str]] = frozenset({"verbose", "device", "encode_chunk_size"})

    hidden_layer_sizes: tuple[int, ...] = (1000, 1000, 1000)
    corruption: str | tuple[str, ...] = "masking"
    noise_levels: float | tuple[float, ...] = (0.1, 0.2, 0.3)
    tied_weights: bool = True
    reconstruction: str = "auto"
    pretrain: bool = True
    pretrain_epochs: int = 15
    pretrain_learning_rate: float = 0.01
    finetune_epochs: int = 100
    finetune_learning_rate: float = 0.1
    batch_size: int = 20
    optimizer: str = "sgd"
    early_stopping: bool = True
    patience: int = 10
    seed: int = 0
    device: str = "auto"
    verbose: int = 0
    encode_chunk_size: int = 4096
    precision: str = "float32"

    def __post_init__(self) -> None:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError(f"hidden_layer_sizes must be a sequence of positive integers, got {sizes!r}") from None
        if len(sizes) == 0:
            raise ValueError("hidden_layer_sizes must name at least one hidden layer, got ()")
        self.hidden_layer_sizes = tuple(check_positive_int(s, f"hidden_layer_sizes[{i}]") for i, s in enumerate(sizes))
        n = len(self.hidden_layer_sizes)
        kinds = _per_layer(self.corruption, n, "corruption", (str,))
        levels = _per_layer(self.noise_levels, n, "noise_levels", (numbers.Real,))
        self.noise_levels = tuple(
            check_positive(v, f"noise_levels[{i}]", allow_zero=True) for i, v in enumerate(levels)
        )
        for i, (kind, level) in enumerate(zip(kinds, self.noise_levels)):
            layer_corruption(
                kind,
                level,
                "corruption" if isinstance(self.corruption, str) else f"corruption[{i}]",
                f"noise_levels[{i}]",
            )
        self.corruption = self.corruption if isinstance(self.corruption, str) else tuple(kinds)
        if self.reconstruction != "auto":
            check_choice(self.reconstruction, "reconstruction", ("auto", *DISTRIBUTIONS))
        for flag in ("tied_weights", "pretrain", "early_stopping"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise TypeError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
            setattr(self, flag, bool(getattr(self, flag)))
        self.pretrain_epochs = check_positive_int(self.pretrain_epochs, "pretrain_epochs", allow_zero=True)
        self.finetune_epochs = check_positive_int(self.finetune_epochs, "finetune_epochs", allow_zero=True)
        self.pretrain_learning_rate = check_positive(self.pretrain_learning_rate, "pretrain_learning_rate")
        self.finetune_learning_rate = check_positive(self.finetune_learning_rate, "finetune_learning_rate")
        self.batch_size = check_positive_int(self.batch_size, "batch_size")
        check_choice(self.optimizer, "optimizer", ("sgd", "adam"))
        self.patience = check_positive_int(self.patience, "patience")
        self.seed = check_positive_int(self.seed, "seed", allow_zero=True)
        resolve_device(self.device)
        self.verbose = check_positive_int(self.verbose, "verbose", allow_zero=True)
        self.encode_chunk_size = check_positive_int(self.encode_chunk_size, "encode_chunk_size")
        check_choice(self.precision, "precision", PRECISIONS)

    @property
    def n_layers(self) -> int:
        return len(self.hidden_layer_sizes)

    @property
    def corruptions(self) -> tuple[str, ...]:
        """The corruption kind of every layer."""
        return _per_layer(self.corruption, self.n_layers, "corruption", (str,))

    def layer_corruption(self, k: int) -> Callable[..., Tensor]:
        """The corruption process of layer ``k`` (0-based)."""
        return layer_corruption(
            self.corruptions[k], cast("tuple[float, ...]", self.noise_levels)[k]
        )  # a tuple after __post_init__

    def pretrain_config(self, k: int) -> TrainConfig:
        """The :class:`TrainConfig` of pretraining layer ``k`` (0-based)."""
        return TrainConfig(
            epochs=self.pretrain_epochs,
            batch_size=self.batch_size,
            lr=self.pretrain_learning_rate,
            optimizer=self.optimizer,
            early_stopping=False,
            seed=self.seed + _PRETRAIN_SEED + k + 1,
            device=self.device,
            verbose=self.verbose,
            precision=self.precision,
        )

    def finetune_config(self, has_valid: bool) -> TrainConfig:
        """The :class:`TrainConfig` of supervised fine-tuning."""
        return TrainConfig(
            epochs=self.finetune_epochs,
            batch_size=self.batch_size,
            lr=self.finetune_learning_rate,
            optimizer=self.optimizer,
            early_stopping=self.early_stopping and has_valid,
            patience=self.patience,
            seed=self.seed + _FINETUNE_SEED,
            device=self.device,
            verbose=self.verbose,
            precision=self.precision,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden_layer_sizes"] = list(self.hidden_layer_sizes)
        d["noise_levels"] = list(cast("tuple[float, ...]", self.noise_levels))  # a tuple after __post_init__
        d["corruption"] = self.corruption if isinstance(self.corruption, str) else list(self.corruption)
        return d
