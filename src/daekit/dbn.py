"""Deep belief network classifiers (DBN): greedy RBM pretraining, then the SdA's fine-tuning.

The DBN-3 baseline of Vincent et al. (2010, Table 3; Hinton et al. 2006, Bengio et al. 2007):
three restricted Boltzmann machines trained greedily, each on the hidden-unit probabilities
P(h = 1 | v) of the one below, whose weights then initialise the hidden layers of the same
feed-forward sigmoid network as the stacked (denoising) autoencoders
(:class:`daekit.models.stacked.StackedNetwork`), fine-tuned the same way
(:func:`daekit.stacked.finetune`: cross-entropy of the labels, early stopping on a validation
set, best parameters kept). Only the pretraining differs between DBN-3, SAA-3 and SdA-3.

Two RBM implementations (``rbm=``):

* ``"daekit"`` (the default): :func:`daekit.rbm_training.train_rbm` — CD-1, minibatch SGD with momentum
  0.5 then 0.9, weight decay 2e-4, W ~ N(0, 0.01²), hidden biases 0, visible biases
  log(p / (1 − p)) of the data mean, and *centred* gradients (see :mod:`daekit.models.rbm`).
* ``"sklearn"``: scikit-learn's :class:`~sklearn.neural_network.BernoulliRBM` — persistent CD
  with one chain per minibatch example, plain SGD (no momentum, no weight decay), visible
  biases starting at 0, uncentred gradients. Kept for comparison: on inputs whose pixels average
  about 0.5 (the dense-background data sets) its uncentred updates are dominated by the data mean
  and, within a few epochs, leave hidden units nearly constant over the data, so the fine-tuning
  starts from a representation that carries little information; centring (the default) removes
  that direction (see :mod:`daekit.models.rbm`).

Either way, hidden layer k of the network computes exactly P(h = 1 | v) of RBM k: its weight is
W (n_hidden, n_visible; scikit-learn's ``components_``) and its bias the RBM's hidden bias
(``intercept_hidden_``); the visible biases are only used by the RBMs and are dropped. Inputs
must lie in [0, 1] (treated as Bernoulli probabilities).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from .models.rbm import RBM, RBMConfig, as_unit_interval
from .models.stacked import StackedNetwork
from .rbm_training import train_rbm
from .stacked import StackedConfig, finetune, label_tensor
from .training.config import History
from .utils.runtime import resolve_device
from .utils.validation import check_choice, check_positive, check_positive_int

logger = logging.getLogger(__name__)

__all__ = ["RBM_KINDS", "DBNResult", "pretrain_rbms", "network_from_rbms", "train_dbn"]

#: The RBM implementations of :func:`pretrain_rbms` (``rbm=``); the first is the default.
RBM_KINDS = ("daekit", "sklearn")

# Offset giving the RBMs their own random streams from the config's seed.
_RBM_SEED = 300_000


def _rbm_options(rbm: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    check_choice(rbm, "rbm", RBM_KINDS)
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"rbm_options must be a mapping of RBMConfig fields, got {options!r}")
    if options and rbm != "daekit":
        raise ValueError(f"rbm_options apply to rbm='daekit' only, got {sorted(options)} with rbm={rbm!r}")
    reserved = {"epochs", "learning_rate", "batch_size", "seed", "device", "verbose"} & set(options)
    if reserved:
        raise ValueError(f"rbm_options must not set {sorted(reserved)} (given by their own arguments)")
    unknown = set(options) - set(RBMConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"rbm_options: unknown RBMConfig fields {sorted(unknown)}")
    return dict(options)


def pretrain_rbms(
    x: Any,
    hidden_layer_sizes: Sequence[int],
    *,
    epochs: int = 15,
    learning_rate: float = 0.05,
    batch_size: int = 10,
    seed: int = 0,
    rbm: str = "daekit",
    rbm_options: Mapping[str, Any] | None = None,
    device: str = "cpu",
    verbose: int = 0,
) -> tuple[list, dict[str, float]]:
    """Greedy layer-wise RBM pretraining: RBM k (1-based) has ``hidden_layer_sizes[k-1]`` hidden
    units and is fitted for ``epochs`` passes on the hidden probabilities P(h = 1 | v) of RBM k−1
    (RBM 1 on ``x``, which must lie in [0, 1]).

    ``rbm="daekit"`` (default) trains :class:`daekit.models.rbm.RBM` with :func:`daekit.rbm_training.train_rbm`
    (``rbm_options``: further :class:`~daekit.models.rbm.RBMConfig` fields, e.g. ``centering=False``;
    ``device`` where it trains); ``rbm="sklearn"`` fits scikit-learn's ``BernoulliRBM``
    (``n_iter=epochs``; CPU). See the module docstring for why the default changed.

    Returns the fitted RBMs and the seconds spent per layer (``"rbm-1"``, …).
    """
    options = _rbm_options(rbm, rbm_options)
    sizes = [check_positive_int(s, f"hidden_layer_sizes[{i}]") for i, s in enumerate(hidden_layer_sizes)]
    if not sizes:
        raise ValueError("hidden_layer_sizes must name at least one hidden layer")
    epochs = check_positive_int(epochs, "epochs")
    learning_rate = check_positive(learning_rate, "learning_rate")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_positive_int(seed, "seed", allow_zero=True)
    verbose = check_positive_int(verbose, "verbose", allow_zero=True)
    resolve_device(device)
    h = as_unit_interval(x, "x")
    rbms, seconds = [], {}
    for k, n_hidden in enumerate(sizes):
        t0 = time.perf_counter()
        n_visible = h.shape[1]
        layer_seed = seed + _RBM_SEED + k + 1
        if rbm == "daekit":
            config = RBMConfig(
                epochs=epochs,
                learning_rate=learning_rate,
                batch_size=batch_size,
                seed=layer_seed,
                device=device,
                verbose=max(0, verbose - 1),
                **options,
            )
            model, _ = train_rbm(h, n_hidden, config)
        else:
            from sklearn.neural_network import BernoulliRBM

            model = BernoulliRBM(
                n_components=n_hidden,
                learning_rate=learning_rate,
                batch_size=batch_size,
                n_iter=epochs,
                random_state=layer_seed,
                verbose=max(0, verbose - 1),
            )
            model.fit(h)
        rbms.append(model)
        if k + 1 < len(sizes):
            h = np.asarray(model.transform(h), dtype=np.float32)  # P(h = 1 | v), the next RBM's visible units
        seconds[f"rbm-{k + 1}"] = time.perf_counter() - t0
        if verbose:
            logger.info(
                "  rbm-%d (%s): %d -> %d, %d epochs, %.1fs",
                k + 1,
                rbm,
                n_visible,
                n_hidden,
                epochs,
                seconds[f"rbm-{k + 1}"],
            )
    return rbms, seconds


def _rbm_layer(rbm: Any) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) of P(h = 1 | v) = sigmoid(W v + b) for a daekit :class:`RBM` or a fitted
    scikit-learn ``BernoulliRBM``."""
    if isinstance(rbm, RBM):
        return rbm.weight.detach().cpu().numpy(), rbm.hidden_bias.detach().cpu().numpy()
    if hasattr(rbm, "components_") and hasattr(rbm, "intercept_hidden_"):
        return np.asarray(rbm.components_), np.asarray(rbm.intercept_hidden_)
    raise TypeError(f"expected a daekit RBM or a fitted scikit-learn BernoulliRBM, got {type(rbm).__name__}")


def network_from_rbms(rbms: Sequence, n_classes: int) -> StackedNetwork:
    """The :class:`StackedNetwork` whose hidden layer k starts from RBM k (a daekit :class:`RBM`
    or a fitted scikit-learn ``BernoulliRBM``): weight ← W, bias ← the hidden bias; the softmax
    output layer starts at zero. Sigmoid activation, so layer k computes exactly the RBM's
    P(h = 1 | v)."""
    if not rbms:
        raise ValueError("rbms must hold at least one fitted RBM")
    n_classes = check_positive_int(n_classes, "n_classes")
    layers = [_rbm_layer(r) for r in rbms]
    for k in range(1, len(layers)):
        if layers[k][0].shape[1] != layers[k - 1][0].shape[0]:
            raise ValueError(
                f"RBM {k + 1} has {layers[k][0].shape[1]} visible units but RBM {k} has "
                f"{layers[k - 1][0].shape[0]} hidden units"
            )
    net = StackedNetwork(layers[0][0].shape[1], [w.shape[0] for w, _ in layers], n_classes, activation="sigmoid")
    with torch.no_grad():
        for layer, (w, b) in zip(cast("Sequence[nn.Linear]", net.hidden), layers):
            layer.weight.copy_(torch.from_numpy(np.asarray(w, dtype=np.float32)))
            layer.bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float32)))
    return net


@dataclass
class DBNResult:
    """What :func:`train_dbn` returns (``rbms``: daekit :class:`RBM` objects, whose ``history``
    holds the per-epoch reconstruction error and free energy, or scikit-learn RBMs)."""

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
    rbm: str = "daekit",
    rbm_learning_rate: float = 0.05,
    rbm_batch_size: int = 10,
    rbm_options: Mapping[str, Any] | None = None,
    n_classes: int | None = None,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
) -> DBNResult:
    """Train a DBN classifier: :func:`pretrain_rbms` on ``x`` (``config.hidden_layer_sizes``,
    ``config.pretrain_epochs`` passes per RBM, ``config.seed``; ``rbm``, ``rbm_learning_rate``,
    ``rbm_batch_size``, ``rbm_options`` as there; the daekit RBMs train on ``config.device``),
    :func:`network_from_rbms`, then :func:`daekit.stacked.finetune` with ``config``'s
    fine-tuning settings (epochs, learning rate, batch size, early stopping on
    ``(x_valid, y_valid)``). The corruption settings of ``config`` are not used.
    ``config.pretrain=False`` skips the RBMs (random initialization)."""
    config = config or StackedConfig()
    _rbm_options(rbm, rbm_options)
    device = resolve_device(config.device)
    x_np = as_unit_interval(x, "x")
    y_t = label_tensor(y)
    if len(x_np) != len(y_t):
        raise ValueError(f"x and y must have the same length, got {len(x_np)} and {len(y_t)}")
    n_classes = int(y_t.max()) + 1 if n_classes is None else check_positive_int(n_classes, "n_classes")
    if int(y_t.min()) < 0 or int(y_t.max()) >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    valid = None
    if x_valid is not None:
        xv = as_unit_interval(x_valid, "x_valid")
        if xv.shape[1] != x_np.shape[1]:
            raise ValueError(f"x_valid has {xv.shape[1]} features, x has {x_np.shape[1]}")
        valid = (torch.from_numpy(xv).to(device), label_tensor(y_valid).to(device))
    if config.pretrain and config.pretrain_epochs > 0:
        rbms, seconds = pretrain_rbms(
            x_np,
            config.hidden_layer_sizes,
            epochs=config.pretrain_epochs,
            learning_rate=rbm_learning_rate,
            batch_size=rbm_batch_size,
            seed=config.seed,
            rbm=rbm,
            rbm_options=rbm_options,
            device=str(device),
            verbose=config.verbose,
        )
        network = network_from_rbms(rbms, n_classes)
    else:
        from .utils.runtime import make_generator

        rbms, seconds = [], {}
        network = StackedNetwork(
            x_np.shape[1], config.hidden_layer_sizes, n_classes, generator=make_generator(config.seed + 200_000)
        )
    t0 = time.perf_counter()
    history = finetune(network, (torch.from_numpy(x_np).to(device), y_t.to(device)), valid, config, callbacks=callbacks)
    seconds["finetune"] = time.perf_counter() - t0
    network.eval()
    return DBNResult(network, rbms, history, seconds)
