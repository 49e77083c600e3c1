"""Deep belief network classifiers (DBN): greedy RBM pretraining, then the SdA's fine-tuning.

The DBN-3 baseline of Vincent et al. (2010, Table 3; Hinton et al. 2006, Bengio et al. 2007):
three restricted Boltzmann machines trained greedily, each on the hidden-unit probabilities
P(h = 1 | v) of the one below, whose weights then initialise the hidden layers of the same
feed-forward sigmoid network as the stacked (denoising) autoencoders
(:class:`daekit.stacked.StackedNetwork`), fine-tuned the same way
(:func:`daekit.stacked.finetune`: cross-entropy of the labels, early stopping on a validation
set, best parameters kept). Only the pretraining differs between DBN-3, SAA-3 and SdA-3.

The RBMs are scikit-learn's :class:`~sklearn.neural_network.BernoulliRBM` (binary visible and
hidden units, persistent contrastive divergence). Its ``components_`` (n_hidden, n_visible) is
the weight matrix W of h = sigmoid(W v + b) — the same layout as ``nn.Linear.weight`` — and
``intercept_hidden_`` is b. The visible biases are only used by the RBM itself and are dropped.
Inputs must lie in [0, 1] (treated as Bernoulli probabilities).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .stacked import StackedConfig, StackedNetwork, _labels, finetune
from .train import History
from .utils import check_positive, check_positive_int, resolve_device

__all__ = ["DBNResult", "pretrain_rbms", "network_from_rbms", "train_dbn"]

# Offset giving the RBMs their own random streams from the config's seed.
_RBM_SEED = 300_000


def _as_unit_interval(x: Any, name: str) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = np.asarray(a, dtype=np.float32).reshape(len(a), -1)
    if len(a) == 0:
        raise ValueError(f"{name} must hold at least one example")
    if not np.isfinite(a).all() or a.min() < 0.0 or a.max() > 1.0:
        raise ValueError(f"{name} must lie in [0, 1] (Bernoulli visible units of an RBM), "
                         f"got values in [{a.min():g}, {a.max():g}]")
    return a


def pretrain_rbms(
    x: Any,
    hidden_layer_sizes: Sequence[int],
    *,
    epochs: int = 15,
    learning_rate: float = 0.06,
    batch_size: int = 10,
    seed: int = 0,
    verbose: int = 0,
) -> tuple[list, dict[str, float]]:
    """Greedy layer-wise RBM pretraining: RBM k (1-based) is a scikit-learn ``BernoulliRBM`` with
    ``hidden_layer_sizes[k-1]`` hidden units, fitted for ``epochs`` passes (``n_iter``) on the
    hidden probabilities P(h = 1 | v) of RBM k−1 (RBM 1 on ``x``, which must lie in [0, 1]).

    Returns the fitted RBMs and the seconds spent per layer (``"rbm-1"``, …).
    """
    from sklearn.neural_network import BernoulliRBM

    sizes = [check_positive_int(s, f"hidden_layer_sizes[{i}]") for i, s in enumerate(hidden_layer_sizes)]
    if not sizes:
        raise ValueError("hidden_layer_sizes must name at least one hidden layer")
    epochs = check_positive_int(epochs, "epochs")
    learning_rate = check_positive(learning_rate, "learning_rate")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_positive_int(seed, "seed", allow_zero=True)
    h = _as_unit_interval(x, "x")
    rbms, seconds = [], {}
    for k, n_hidden in enumerate(sizes):
        t0 = time.perf_counter()
        rbm = BernoulliRBM(n_components=n_hidden, learning_rate=learning_rate, batch_size=batch_size,
                           n_iter=epochs, random_state=seed + _RBM_SEED + k + 1, verbose=max(0, verbose - 1))
        rbm.fit(h)
        rbms.append(rbm)
        if k + 1 < len(sizes):
            h = rbm.transform(h).astype(np.float32)  # P(h = 1 | v), the next RBM's visible units
        seconds[f"rbm-{k + 1}"] = time.perf_counter() - t0
        if verbose:
            print(f"  rbm-{k + 1}: {h.shape[1] if k == 0 else sizes[k - 1]} -> {n_hidden}, "
                  f"{epochs} epochs, {seconds[f'rbm-{k + 1}']:.1f}s", flush=True)
    return rbms, seconds


def network_from_rbms(rbms: Sequence, n_classes: int) -> StackedNetwork:
    """The :class:`StackedNetwork` whose hidden layer k starts from RBM k: weight ← ``components_``,
    bias ← ``intercept_hidden_``; the softmax output layer starts at zero. Sigmoid activation,
    so layer k computes exactly the RBM's P(h = 1 | v)."""
    if not rbms:
        raise ValueError("rbms must hold at least one fitted BernoulliRBM")
    n_classes = check_positive_int(n_classes, "n_classes")
    weights = [np.asarray(r.components_, dtype=np.float32) for r in rbms]
    for k in range(1, len(weights)):
        if weights[k].shape[1] != weights[k - 1].shape[0]:
            raise ValueError(f"RBM {k + 1} has {weights[k].shape[1]} visible units but RBM {k} has "
                             f"{weights[k - 1].shape[0]} hidden units")
    net = StackedNetwork(weights[0].shape[1], [w.shape[0] for w in weights], n_classes, activation="sigmoid")
    with torch.no_grad():
        for layer, rbm, w in zip(net.hidden, rbms, weights):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(np.asarray(rbm.intercept_hidden_, dtype=np.float32)))
    return net


@dataclass
class DBNResult:
    """What :func:`train_dbn` returns."""

    network: StackedNetwork
    rbms: list
    finetune_history: History
    phase_seconds: dict[str, float]


def train_dbn(
    x: Any,
    y: Any,
    x_valid: Any = None,
    y_valid: Any = None,
    config: StackedConfig | None = None,
    *,
    rbm_learning_rate: float = 0.06,
    rbm_batch_size: int = 10,
    n_classes: int | None = None,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
) -> DBNResult:
    """Train a DBN classifier: :func:`pretrain_rbms` on ``x`` (``config.hidden_layer_sizes``,
    ``config.pretrain_epochs`` passes per RBM, ``config.seed``), :func:`network_from_rbms`, then
    :func:`daekit.stacked.finetune` with ``config``'s fine-tuning settings (epochs, learning rate,
    batch size, early stopping on ``(x_valid, y_valid)``). The corruption settings of ``config``
    are not used. ``config.pretrain=False`` skips the RBMs (random initialization)."""
    config = config or StackedConfig()
    device = resolve_device(config.device)
    x_np = _as_unit_interval(x, "x")
    y_t = _labels(y)
    if len(x_np) != len(y_t):
        raise ValueError(f"x and y must have the same length, got {len(x_np)} and {len(y_t)}")
    n_classes = int(y_t.max()) + 1 if n_classes is None else check_positive_int(n_classes, "n_classes")
    if int(y_t.min()) < 0 or int(y_t.max()) >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    valid = None
    if x_valid is not None:
        xv = _as_unit_interval(x_valid, "x_valid")
        if xv.shape[1] != x_np.shape[1]:
            raise ValueError(f"x_valid has {xv.shape[1]} features, x has {x_np.shape[1]}")
        valid = (torch.from_numpy(xv).to(device), _labels(y_valid).to(device))
    if config.pretrain and config.pretrain_epochs > 0:
        rbms, seconds = pretrain_rbms(x_np, config.hidden_layer_sizes, epochs=config.pretrain_epochs,
                                      learning_rate=rbm_learning_rate, batch_size=rbm_batch_size,
                                      seed=config.seed, verbose=config.verbose)
        network = network_from_rbms(rbms, n_classes)
    else:
        from .utils import make_generator

        rbms, seconds = [], {}
        network = StackedNetwork(x_np.shape[1], config.hidden_layer_sizes, n_classes,
                                 generator=make_generator(config.seed + 200_000))
    t0 = time.perf_counter()
    history = finetune(network, (torch.from_numpy(x_np).to(device), y_t.to(device)), valid, config,
                       callbacks=callbacks)
    seconds["finetune"] = time.perf_counter() - t0
    network.eval()
    return DBNResult(network, rbms, history, seconds)
