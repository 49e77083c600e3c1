"""Stacked denoising autoencoders: greedy layer-wise pretraining, then supervised fine-tuning.

Vincent et al. (2008, §2.4; 2010, §3.5 and Fig. 3): layer k is a denoising autoencoder trained on
the *clean* output of the already-trained layers 1..k−1. The corruption q_D is applied only to the
input of the layer being trained, never when propagating representations upward. Once all layers
are trained, their encoders f_θ initialise the hidden layers of a feed-forward network topped by
a softmax output layer, and the whole network is fine-tuned by minibatch gradient descent on the
cross-entropy of the labels, with early stopping on a validation set (the best parameters are
kept). All noise levels 0 gives ordinary stacked autoencoders (SAA, Bengio et al. 2007);
``pretrain=False`` gives the same network from random initialization.

The frozen layers' output is computed once per layer, in chunks under ``torch.no_grad`` (never for
every minibatch). Every phase runs through the one training loop, :func:`daekit.train.fit`, with
its own phase name (``"pretrain-1"``, ``"pretrain-2"``, …, ``"finetune"``) so that a run folder
holds a checkpoint after every epoch of every phase and a run killed at any point resumes to the
same final weights: a finished phase is restored from its last checkpoint and the encoded data of
the next layer is recomputed from the restored weights (deterministic).
"""

from __future__ import annotations

import json
import numbers
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoint import register_model
from .corruption import Identity, make_corruption
from .distributions import DISTRIBUTIONS
from .models import ACTIVATIONS, DAE, activation_fn, init_uniform_
from .precision import PRECISIONS, add_matmul_, matmul_into
from .scratch import ScratchSpace
from .distributed import DistributedContext, init_from_env
from .train import DenoisingObjective, History, TrainConfig, as_tensors, fit
from .utils import check_choice, check_positive, check_positive_int, make_generator, peak_rss_mb, resolve_device

__all__ = [
    "CORRUPTION_KINDS",
    "StackedConfig",
    "StackedNetworkConfig",
    "StackedNetwork",
    "StackedResult",
    "ClassificationObjective",
    "classification_error_metric",
    "classification_metrics",
    "layer_corruption",
    "encode_dataset",
    "pretrain_layers",
    "finetune",
    "train_stacked",
    "DataSplits",
    "load_splits",
    "run_stacked",
]

#: Corruption kinds that take one noise level (the fraction ν, or σ for "gaussian").
CORRUPTION_KINDS = ("masking", "saltpepper", "gaussian", "none")

# Offsets that give every phase its own random streams from one base seed.
_PRETRAIN_SEED, _INIT_SEED, _FINETUNE_SEED, _NETWORK_INIT_SEED = 0, 10_000, 100_000, 200_000


def layer_corruption(kind: str, level: float, name: str = "corruption",
                     level_name: str = "noise_level") -> Callable[..., Tensor]:
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
        raise TypeError(f"{name} must be a single value or a sequence with one value per hidden layer, "
                        f"got {value!r}") from None
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
    products in pretraining and fine-tuning (:mod:`daekit.precision`).
    """

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
        self.hidden_layer_sizes = tuple(
            check_positive_int(s, f"hidden_layer_sizes[{i}]") for i, s in enumerate(sizes))
        n = len(self.hidden_layer_sizes)
        kinds = _per_layer(self.corruption, n, "corruption", (str,))
        levels = _per_layer(self.noise_levels, n, "noise_levels", (numbers.Real,))
        self.noise_levels = tuple(check_positive(v, f"noise_levels[{i}]", allow_zero=True) for i, v in enumerate(levels))
        for i, (kind, level) in enumerate(zip(kinds, self.noise_levels)):
            layer_corruption(kind, level, "corruption" if isinstance(self.corruption, str) else f"corruption[{i}]",
                             f"noise_levels[{i}]")
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
        return layer_corruption(self.corruptions[k], self.noise_levels[k])

    def pretrain_config(self, k: int) -> TrainConfig:
        """The :class:`TrainConfig` of pretraining layer ``k`` (0-based)."""
        return TrainConfig(epochs=self.pretrain_epochs, batch_size=self.batch_size, lr=self.pretrain_learning_rate,
                           optimizer=self.optimizer, early_stopping=False, seed=self.seed + _PRETRAIN_SEED + k + 1,
                           device=self.device, verbose=self.verbose, precision=self.precision)

    def finetune_config(self, has_valid: bool) -> TrainConfig:
        """The :class:`TrainConfig` of supervised fine-tuning."""
        return TrainConfig(epochs=self.finetune_epochs, batch_size=self.batch_size, lr=self.finetune_learning_rate,
                           optimizer=self.optimizer, early_stopping=self.early_stopping and has_valid,
                           patience=self.patience, seed=self.seed + _FINETUNE_SEED, device=self.device,
                           verbose=self.verbose, precision=self.precision)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden_layer_sizes"] = list(self.hidden_layer_sizes)
        d["noise_levels"] = list(self.noise_levels)
        d["corruption"] = self.corruption if isinstance(self.corruption, str) else list(self.corruption)
        return d


# ----------------------------------------------------------------------------- the network


@dataclass
class StackedNetworkConfig:
    """Everything needed to rebuild a :class:`StackedNetwork`; saved inside every checkpoint."""

    n_visible: int
    hidden_layer_sizes: list[int] = field(default_factory=lambda: [1000, 1000, 1000])
    n_classes: int = 10
    activation: str = "sigmoid"

    def __post_init__(self) -> None:
        check_positive_int(self.n_visible, "n_visible")
        self.hidden_layer_sizes = [check_positive_int(s, f"hidden_layer_sizes[{i}]")
                                   for i, s in enumerate(self.hidden_layer_sizes)]
        if not self.hidden_layer_sizes:
            raise ValueError("hidden_layer_sizes must name at least one hidden layer")
        check_positive_int(self.n_classes, "n_classes")
        check_choice(self.activation, "activation", tuple(ACTIVATIONS))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@register_model
class StackedNetwork(ScratchSpace, nn.Module):
    """A feed-forward classifier: hidden layers h_k = s(W_k h_{k−1} + b_k) and a softmax output
    layer whose logits are W_out h_L + b_out (Vincent et al. 2010, §3.5, Fig. 3 right).

    Hidden layers start from the Glorot-uniform init of :func:`daekit.models.init_uniform_` (or
    from pretrained encoders, :meth:`from_pretrained`); the output layer starts at zero (as the
    logistic regression of the Theano tutorial).
    """

    def __init__(self, n_visible: int, hidden_layer_sizes: Sequence[int], n_classes: int,
                 activation: str = "sigmoid", generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = StackedNetworkConfig(n_visible, list(hidden_layer_sizes), n_classes, activation)
        self.act = activation_fn(activation)
        sizes = [n_visible, *self.config.hidden_layer_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for layer in self.hidden:
            init_uniform_(layer.weight, activation, generator)
            nn.init.zeros_(layer.bias)
        self.output = nn.Linear(sizes[-1], n_classes)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    @classmethod
    def from_config(cls, config: StackedNetworkConfig | dict[str, Any]) -> "StackedNetwork":
        if isinstance(config, dict):
            config = StackedNetworkConfig(**config)
        return cls(**config.to_dict())

    @classmethod
    def from_pretrained(cls, encoders: Sequence[DAE], n_classes: int) -> "StackedNetwork":
        """The network whose hidden layer k starts from the encoder (W, b) of ``encoders[k]``."""
        if not encoders:
            raise ValueError("encoders must hold at least one pretrained DAE")
        activation = encoders[0].config.activation
        net = cls(encoders[0].config.n_visible, [e.config.n_hidden for e in encoders], n_classes, activation)
        for k, (layer, dae) in enumerate(zip(net.hidden, encoders)):
            if dae.config.n_visible != layer.in_features or dae.config.activation != activation:
                raise ValueError(f"encoder {k + 1} ({dae.config.n_visible} -> {dae.config.n_hidden}, "
                                 f"{dae.config.activation}) does not fit layer {k + 1} of the stack")
            with torch.no_grad():
                layer.weight.copy_(dae.W.detach().to(layer.weight.device))
                layer.bias.copy_(dae.b.detach().to(layer.bias.device))
        return net

    @property
    def n_layers(self) -> int:
        return len(self.hidden)

    def features(self, x: Tensor, depth: int | None = None) -> Tensor:
        """The representation h_depth of the clean input (default: the top hidden layer)."""
        h = x.reshape(x.shape[0], -1)
        for layer in self.hidden[: self.n_layers if depth is None else depth]:
            h = self.act(layer(h))
        return h

    def forward(self, x: Tensor) -> Tensor:
        """The class logits (N, n_classes); softmax of them is p(y | x)."""
        return self.output(self.features(x))

    @property
    def supports_fused_sgd(self) -> bool:
        """Whether :meth:`fused_sgd_step` applies (sigmoid hidden layers)."""
        return self.config.activation == "sigmoid"

    @torch.no_grad()
    def fused_sgd_step(self, x: Tensor, y: Tensor, lr: float, compute_dtype: torch.dtype | None = None) -> Tensor:
        """One plain SGD step on the mean cross-entropy, backpropagation written out by hand.

        Exactly the step autograd + ``torch.optim.SGD`` would take, without an autograd graph,
        gradient buffers or an optimizer pass; activations and deltas live in reused work arrays:

            h_0 = x,  h_k = sigmoid(h_{k−1} W_kᵀ + b_k),  logits = h_L W_outᵀ + b_out
            δ_out = (softmax(logits) − onehot(y)) / n
            δ_{k−1} = (δ_k W_k) ⊙ h_{k−1} ⊙ (1 − h_{k−1})   (with W_k before its update)
            W_k ← W_k − lr δ_kᵀ h_{k−1},  b_k ← b_k − lr Σ δ_k

        ``compute_dtype`` (e.g. ``torch.bfloat16``) computes the matrix products in that precision
        from copies of the weights made at the start of the step; all else stays in the weights'
        dtype (:mod:`daekit.precision`).
        Returns the mean loss of the batch (before the step).
        """
        n = x.shape[0]
        layers = [*self.hidden, self.output]
        sizes = [layer.out_features for layer in layers]
        weight = self.output.weight
        acts = self._scratch("acts", [(n, s) for s in sizes], weight.dtype, weight.device)
        deltas = self._scratch("deltas", [(n, s) for s in sizes], weight.dtype, weight.device)
        low = compute_dtype if compute_dtype not in (None, weight.dtype) else None
        weights = [layer.weight for layer in layers]
        if low is not None:  # this step's weights, rounded once for all their products
            weights = self._rounded_copies(weights, low)
        inputs = [x.reshape(n, -1), *acts[:-1]]
        for layer, w, inp, out in zip(layers, weights, inputs, acts):
            matmul_into(out, inp, w.t(), layer.bias)
            if out is not acts[-1]:
                out.sigmoid_()
        logits = acts[-1]
        loss = F.cross_entropy(logits, y)
        delta = deltas[-1].copy_(torch.softmax(logits, dim=1))
        delta[torch.arange(n, device=delta.device), y] -= 1.0
        delta.div_(n)
        ones = torch.ones(n, dtype=delta.dtype, device=delta.device)
        for k in range(len(layers) - 1, -1, -1):
            layer, delta = layers[k], deltas[k]
            if k > 0:  # the input needs no delta
                below = deltas[k - 1]
                matmul_into(below, delta, weights[k])
                torch.ops.aten.sigmoid_backward.grad_input(below, inputs[k], grad_input=below)
            add_matmul_(layer.weight, delta.t(), inputs[k], -lr, low)
            layer.bias.addmv_(delta.t(), ones, alpha=-lr)
        return loss

    def extra_repr(self) -> str:
        sizes = " -> ".join(str(s) for s in [self.config.n_visible, *self.config.hidden_layer_sizes])
        return f"{sizes} -> softmax({self.config.n_classes}), activation={self.config.activation}"


class ClassificationObjective:
    """Supervised fine-tuning criterion: the cross-entropy −log softmax(logits)[y], from logits
    (Vincent et al. 2010, §3.5). ``batch`` is ``(x, y)`` with integer labels."""

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x, y = batch[0], batch[1]
        return F.cross_entropy(model(x), y)

    def supports_fused(self, model: nn.Module) -> bool:
        return bool(getattr(model, "supports_fused_sgd", False))

    def fused_sgd_step(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator, lr: float,
                       compute_dtype: torch.dtype | None = None) -> Tensor:
        """The same step as this objective + backward + plain SGD, written out by hand
        (:meth:`StackedNetwork.fused_sgd_step`)."""
        return model.fused_sgd_step(batch[0], batch[1], lr, compute_dtype)


@torch.no_grad()
def _chunked(fn: Callable[[Tensor], Tensor], x: Tensor, chunk_size: int) -> Tensor:
    return torch.cat([fn(x[i:i + chunk_size]) for i in range(0, len(x), chunk_size)]) if len(x) else fn(x)


def classification_error_metric(model: nn.Module, data: tuple[Tensor, ...], chunk_size: int = 4096) -> float:
    """Fraction of misclassified examples of ``data = (x, y)``."""
    return classification_metrics(model, data, chunk_size)["score"]


def classification_metrics(model: nn.Module, data: tuple[Tensor, ...], chunk_size: int = 4096) -> dict[str, float]:
    """``{"score": error rate, "loss": mean cross-entropy}`` of ``data = (x, y)`` from one forward
    pass (``fit``'s ``valid_metric`` for fine-tuning)."""
    x, y = data[0], data[1]
    was_training = model.training
    model.eval()
    errors, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), chunk_size):
            logits, labels = model(x[i:i + chunk_size]), y[i:i + chunk_size]
            errors += int((logits.argmax(dim=1) != labels).sum())
            loss += float(F.cross_entropy(logits, labels, reduction="sum"))
    model.train(was_training)
    return {"score": errors / max(len(x), 1), "loss": loss / max(len(x), 1)}


def encode_dataset(encoder: nn.Module, x: Tensor, chunk_size: int = 4096) -> Tensor:
    """h = f_θ(x) of every row of ``x``, the clean (uncorrupted) encoding, computed once in chunks
    under ``torch.no_grad`` (the input of the next layer's pretraining)."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    h = _chunked(lambda t: encoder.encode(t.to(device)), x, chunk_size)
    encoder.train(was_training)
    return h


def _resolve_reconstruction(reconstruction: str, x: Tensor) -> str:
    if reconstruction != "auto":
        return reconstruction
    inside = len(x) == 0 or (float(x.min()) >= 0.0 and float(x.max()) <= 1.0)
    return "bernoulli" if inside else "gaussian"


def pretrain_layers(
    x: Any,
    config: StackedConfig,
    *,
    run_dir: str | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
    distributed: DistributedContext | None = None,
) -> tuple[list[DAE], list[History], dict[str, float]]:
    """Greedy layer-wise denoising pretraining (Vincent et al. 2010, Fig. 3).

    Layer k (1-based) is a :class:`~daekit.models.DAE` trained by :func:`daekit.train.fit` (phase
    ``"pretrain-k"``) on the clean encodings h_{k−1} = f_{k−1}(…f_1(x)) of the layers below,
    corrupted by layer k's own corruption process only while layer k trains. h_k is computed once
    after layer k finishes. Returns the trained DAEs, their histories and the seconds spent per
    phase (training plus encoding).
    """
    device = resolve_device(config.device)
    (h,) = as_tensors(x, device)
    h = h.reshape(len(h), -1)
    daes: list[DAE] = []
    histories: list[History] = []
    seconds: dict[str, float] = {}
    for k, n_hidden in enumerate(config.hidden_layer_sizes):
        t0 = time.perf_counter()
        phase = f"pretrain-{k + 1}"
        reconstruction = _resolve_reconstruction(config.reconstruction, h) if k == 0 else "bernoulli"
        dae = DAE(h.shape[1], n_hidden, tied_weights=config.tied_weights, reconstruction=reconstruction,
                  generator=make_generator(config.seed + _INIT_SEED + k + 1))
        objective = DenoisingObjective(config.layer_corruption(k))
        history = fit(dae, objective, h, None, config.pretrain_config(k), run_dir=run_dir, phase=phase,
                      resume=resume, callbacks=callbacks, distributed=distributed)
        daes.append(dae)
        histories.append(history)
        if k + 1 < config.n_layers:
            h = encode_dataset(dae, h, config.encode_chunk_size)
        seconds[phase] = time.perf_counter() - t0
    return daes, histories, seconds


def finetune(
    network: StackedNetwork,
    train: tuple[Any, Any],
    valid: tuple[Any, Any] | None,
    config: StackedConfig,
    *,
    run_dir: str | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
    distributed: DistributedContext | None = None,
) -> History:
    """Supervised fine-tuning of the whole stack on the cross-entropy (phase ``"finetune"``), with
    early stopping on the classification error of ``valid``; the best parameters are kept."""
    return fit(network, ClassificationObjective(), train, valid, config.finetune_config(valid is not None),
               run_dir=run_dir, phase="finetune", resume=resume,
               valid_metric=classification_metrics if valid is not None else None, callbacks=callbacks,
               distributed=distributed)


@dataclass
class StackedResult:
    """What :func:`train_stacked` returns."""

    network: StackedNetwork
    encoders: list[DAE]
    pretrain_histories: list[History]
    finetune_history: History
    phase_seconds: dict[str, float]


def _labels(y: Any) -> Tensor:
    t = y if isinstance(y, Tensor) else torch.as_tensor(np.asarray(y))
    if t.is_floating_point() or t.dim() != 1:
        raise ValueError(f"labels must be a 1-D integer array 0..n_classes-1, got dtype {t.dtype} shape {tuple(t.shape)}")
    return t.long()


def train_stacked(
    x: Any,
    y: Any,
    x_valid: Any = None,
    y_valid: Any = None,
    config: StackedConfig | None = None,
    *,
    n_classes: int | None = None,
    run_dir: str | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
    distributed: DistributedContext | None = None,
) -> StackedResult:
    """Train a stacked denoising autoencoder classifier (SdA; SAA with all noise levels 0; a plain
    deep network with ``pretrain=False``): :func:`pretrain_layers` on ``x`` then :func:`finetune`
    on ``(x, y)`` with early stopping on ``(x_valid, y_valid)``.

    ``y`` holds integer labels 0..n_classes−1. With ``run_dir``, every epoch of every phase is
    checkpointed there and ``resume=True`` continues a killed run to the same final weights.
    ``distributed`` is passed to :func:`daekit.train.fit` (None: the torchrun job of the
    environment, if any).
    """
    config = config or StackedConfig()
    device = resolve_device(config.device)
    (x_t,) = as_tensors(x, device)
    x_t = x_t.reshape(len(x_t), -1)
    y_t = _labels(y).to(device)
    if len(x_t) != len(y_t):
        raise ValueError(f"x and y must have the same length, got {len(x_t)} and {len(y_t)}")
    if len(x_t) == 0:
        raise ValueError("x must hold at least one example")
    n_classes = int(y_t.max()) + 1 if n_classes is None else check_positive_int(n_classes, "n_classes")
    valid = None
    if x_valid is not None:
        (xv,) = as_tensors(x_valid, device)
        valid = (xv.reshape(len(xv), -1), _labels(y_valid).to(device))
        if valid[0].shape[1] != x_t.shape[1]:
            raise ValueError(f"x_valid has {valid[0].shape[1]} features, x has {x_t.shape[1]}")
    if int(y_t.min()) < 0 or int(y_t.max()) >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    seconds: dict[str, float] = {}
    if config.pretrain:
        encoders, histories, seconds = pretrain_layers(x_t, config, run_dir=run_dir, resume=resume,
                                                       callbacks=callbacks, distributed=distributed)
        network = StackedNetwork.from_pretrained(encoders, n_classes)
    else:
        encoders, histories = [], []
        network = StackedNetwork(x_t.shape[1], config.hidden_layer_sizes, n_classes,
                                 generator=make_generator(config.seed + _NETWORK_INIT_SEED))
    t0 = time.perf_counter()
    history = finetune(network, (x_t, y_t), valid, config, run_dir=run_dir, resume=resume, callbacks=callbacks,
                       distributed=distributed)
    seconds["finetune"] = time.perf_counter() - t0
    network.eval()
    return StackedResult(network, encoders, histories, history, seconds)



# ----------------------------------------------------------------------------- run folders


@dataclass
class DataSplits:
    """Labelled training, validation and (optional) test arrays of one experiment."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray | None
    y_valid: np.ndarray | None
    x_test: np.ndarray | None
    y_test: np.ndarray | None


def load_splits(data: str, train_size: int | None = None, valid_size: int | None = None) -> DataSplits:
    """The train / validation / test split of a data name (see :func:`daekit.datasets.sources.load_dataset`).

    The validation set is the *last* ``valid_size`` examples of the training file (default: MNIST's
    usual 10,000, i.e. train on the first 50k and validate on the last 10k; the ``x_valid`` arrays
    of an ``.npz`` when it has them; else the last sixth), and training uses the first
    ``train_size`` of the remaining examples (default all). The test set is left as it is.
    """
    from .datasets.sources import load_dataset

    split = load_dataset(data)
    if split.y_train is None:
        raise ValueError(f"data {data!r} has no training labels (y_train); a classifier needs them")
    x, y = np.asarray(split.x_train, dtype=np.float32), np.asarray(split.y_train)
    x = x.reshape(len(x), -1)
    x_valid = y_valid = None
    if valid_size is None and data.endswith(".npz"):
        with np.load(data) as z:
            if "x_valid" in z and "y_valid" in z:
                x_valid = np.asarray(z["x_valid"], dtype=np.float32).reshape(len(z["x_valid"]), -1)
                y_valid = np.asarray(z["y_valid"])
    if x_valid is None:
        n_valid = valid_size if valid_size is not None else (10_000 if split.name == "mnist" else len(x) // 6)
        check_positive_int(n_valid, "valid_size", allow_zero=True)
        if n_valid >= len(x):
            raise ValueError(f"valid_size={n_valid} leaves no training examples out of {len(x)}")
        if n_valid > 0:
            x, y, x_valid, y_valid = x[:-n_valid], y[:-n_valid], x[-n_valid:], y[-n_valid:]
    if train_size is not None:
        check_positive_int(train_size, "train_size")
        if train_size > len(x):
            raise ValueError(f"train_size={train_size} is larger than the {len(x)} training examples available")
        x, y = x[:train_size], y[:train_size]
    x_test = y_test = None
    if split.x_test is not None and split.y_test is not None:
        x_test = np.asarray(split.x_test, dtype=np.float32).reshape(len(split.x_test), -1)
        y_test = np.asarray(split.y_test)
    return DataSplits(split.name, x, y, x_valid, y_valid, x_test, y_test)


def _predict(network: nn.Module, x: np.ndarray, device: torch.device, chunk_size: int = 4096) -> np.ndarray:
    network.eval()
    with torch.no_grad():
        return torch.cat([network(torch.as_tensor(x[i:i + chunk_size], device=device)).argmax(1).cpu()
                          for i in range(0, len(x), chunk_size)]).numpy()


#: Settings that may differ between a run and its resumption.
_RESUME_FREE = ("verbose", "device")


def run_stacked(
    config: StackedConfig,
    data: str | DataSplits,
    out: str | os.PathLike,
    *,
    train_size: int | None = None,
    valid_size: int | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
) -> dict[str, Any]:
    """A complete SdA / SAA experiment in the run folder ``out``; returns result.json's content.

    ``out`` receives ``config.json`` (the resolved settings, written atomically before training),
    ``metrics.jsonl`` (one line per epoch per phase), ``checkpoints/`` (after every epoch of every
    pretraining layer and of fine-tuning: a killed run continues with ``resume=True`` to the same
    weights), ``model/`` (the fine-tuned :class:`StackedNetwork`, for
    :func:`daekit.checkpoint.load_model`), ``filters.png`` (first-layer filters after pretraining),
    ``filters_finetuned.png`` and ``result.json`` (validation and test error with 95% intervals,
    seconds per phase, peak RSS).
    """
    from .checkpoint import save_model, write_json
    from .metrics import classification_error

    t_start = time.perf_counter()
    out = Path(out)
    ctx = init_from_env(resolve_device(config.device))  # under torchrun: all ranks train, rank 0 writes
    splits = data if isinstance(data, DataSplits) else load_splits(data, train_size, valid_size)
    classes = np.unique(splits.y_train)
    if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0:
        raise ValueError(f"labels of {splits.name} must be integers >= 0")
    n_classes = 1 + max([int(classes.max())] + [int(y.max()) for y in (splits.y_valid, splits.y_test)
                                                if y is not None and len(y)])
    resolved = {
        "data": splits.name, "train_size": train_size, "valid_size": valid_size, "n_train": len(splits.x_train),
        "n_valid": 0 if splits.x_valid is None else len(splits.x_valid),
        "n_test": 0 if splits.x_test is None else len(splits.x_test), "n_features": int(splits.x_train.shape[1]),
        "n_classes": n_classes, **config.to_dict(),
    }
    saved = out / "config.json"
    if resume and saved.is_file():
        # a setting added since the run was started counts as its default (e.g. precision)
        previous = {**StackedConfig().to_dict(), **json.loads(saved.read_text())}
        changed = sorted(k for k in set(previous) | set(resolved)
                         if k not in _RESUME_FREE and previous.get(k) != resolved.get(k))
        if changed:
            raise ValueError(f"resume with settings that differ from {saved}: "
                             + ", ".join(f"{k} ({previous.get(k)!r} -> {resolved.get(k)!r})" for k in changed))
    elif not resume and ((out / "checkpoints").is_dir() or (out / "result.json").exists()):
        raise ValueError(f"{out} already holds a run; resume it or choose another folder")
    ctx.barrier()  # every rank has checked the folder before rank 0 writes into it
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(saved, resolved)

    result = train_stacked(splits.x_train, splits.y_train, splits.x_valid, splits.y_valid, config,
                           n_classes=n_classes, run_dir=str(out), resume=resume, callbacks=callbacks,
                           distributed=ctx)
    if not ctx.is_main:
        return {"rank": ctx.rank}
    network = result.network
    device = next(network.parameters()).device
    save_model(out / "model", network, data=splits.name)

    report: dict[str, Any] = {"data": splits.name, "n_train": resolved["n_train"], "n_valid": resolved["n_valid"],
                              "n_test": resolved["n_test"], "resumed": bool(resume)}
    t0 = time.perf_counter()
    for part in ("train", "valid", "test"):
        x, y = getattr(splits, f"x_{part}"), getattr(splits, f"y_{part}")
        if x is not None and len(x):
            error, half = classification_error(y, _predict(network, x, device, config.encode_chunk_size))
            report[f"{part}_error"], report[f"{part}_error_ci95"] = error, half
    evaluate_seconds = time.perf_counter() - t0
    history = result.finetune_history
    report.update({
        "best_epoch": history.best_epoch, "finetune_epochs_run": len(history.records),
        "stopped_early": history.stopped_early,
        "pretrain_final_loss": [h.train_loss[-1] if h.records else None for h in result.pretrain_histories],
        # time spent training each phase, summed over its epochs (including epochs before a resume)
        "phase_seconds": {**{f"pretrain-{k + 1}": sum(r["seconds"] for r in h.records)
                             for k, h in enumerate(result.pretrain_histories)},
                          "finetune": sum(r["seconds"] for r in history.records)},
        # wall time of this process per phase (pretraining includes encoding the data for the next layer)
        "wall_seconds": {**result.phase_seconds, "evaluate": evaluate_seconds},
    })
    from .viz import plot_filters

    if result.encoders:
        plot_filters(result.encoders[0].W.detach().cpu().numpy(), out / "filters.png",
                     title=f"layer 1 after pretraining ({config.corruptions[0]}, ν={config.noise_levels[0]:g})")
    plot_filters(network.hidden[0].weight.detach().cpu().numpy(),
                 out / ("filters_finetuned.png" if result.encoders else "filters.png"),
                 title="layer 1 after fine-tuning")
    report["total_seconds"] = time.perf_counter() - t_start
    report["peak_rss_mb"] = peak_rss_mb()
    write_json(out / "result.json", report)
    return report
