"""Training an RBM by CD-k with momentum and weight decay (Hinton 2010, *A Practical Guide to
Training Restricted Boltzmann Machines*): the layer-wise pretraining of the DBN baseline.

The model and its contrastive-divergence step are :mod:`daekit.models.rbm`; this module owns the
epochs, the minibatch order, the momentum schedule and the per-epoch record.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .models.rbm import RBM, RBMConfig, as_unit_interval, cd_momentum_step
from .utils.runtime import make_generator, resolve_device
from .utils.validation import check_positive_int

logger = logging.getLogger(__name__)

__all__ = ["RBMHistory", "train_rbm", "visible_bias_init"]

# Offsets giving initialization and training their own random streams from one seed.
_INIT_SEED, _TRAIN_SEED = 0, 1
# Rate of the running average λ of the hidden probabilities (centering) and its starting value.
_HIDDEN_OFFSET_RATE, _HIDDEN_OFFSET_START = 0.01, 0.5


@dataclass
class RBMHistory:
    """Per-epoch records of :func:`train_rbm`: ``reconstruction_error`` (mean squared error of the
    CD reconstructions made during the epoch, per visible unit), ``free_energy`` (mean F(v) of
    the training data after the epoch), ``momentum`` and ``seconds``."""

    records: list[dict[str, float]] = field(default_factory=list)

    @property
    def reconstruction_error(self) -> list[float]:
        return [r["reconstruction_error"] for r in self.records]

    @property
    def free_energy(self) -> list[float]:
        return [r["free_energy"] for r in self.records]


def visible_bias_init(x: Tensor, eps: float = 1e-3) -> Tensor:
    """log(p / (1 − p)) of the data mean p of every visible unit, p clipped to [eps, 1 − eps]."""
    p = x.mean(0).clamp(eps, 1.0 - eps)
    return torch.log(p / (1.0 - p))


def train_rbm(x: Any, n_hidden: int, config: RBMConfig | None = None) -> tuple[RBM, RBMHistory]:
    """Train an :class:`RBM` with ``n_hidden`` hidden units on ``x`` (N, D) in [0, 1] by CD-k and
    minibatch SGD with momentum and weight decay (see the module docstring and
    :class:`RBMConfig`). Returns the RBM (on ``config.device``) and its :class:`RBMHistory`."""
    config = RBMConfig() if config is None else config
    if not isinstance(config, RBMConfig):
        raise TypeError(f"config must be an RBMConfig, got {type(config).__name__}")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    device = resolve_device(config.device)
    data = torch.from_numpy(as_unit_interval(x, "x")).to(device)
    rbm = RBM(data.shape[1], n_hidden, init_std=config.init_std, generator=make_generator(config.seed + _INIT_SEED)).to(
        device
    )
    rbm.visible_bias.copy_(visible_bias_init(data))
    order_gen = make_generator(config.seed + _TRAIN_SEED)
    sample_gen = make_generator(config.seed + _TRAIN_SEED, device)
    mu = data.mean(0) if config.centering else None
    lam = torch.full((n_hidden,), _HIDDEN_OFFSET_START, device=device) if config.centering else None
    velocity = [torch.zeros_like(p) for p in (rbm.weight, rbm.hidden_bias, rbm.visible_bias)]
    history = RBMHistory()
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        momentum, lr = config.momentum_at(epoch), config.learning_rate
        sq_error = torch.zeros((), dtype=torch.float64, device=device)
        for idx in torch.randperm(len(data), generator=order_gen).split(config.batch_size):
            v0 = data[idx.to(device)]
            h0, vk = cd_momentum_step(
                rbm,
                v0,
                velocity,
                lr=lr,
                momentum=momentum,
                weight_decay=config.weight_decay,
                k=config.k,
                generator=sample_gen,
                visible_offset=mu,
                hidden_offset=lam,
            )
            if lam is not None:  # config.centering
                lam.mul_(1.0 - _HIDDEN_OFFSET_RATE).add_(h0.mean(0), alpha=_HIDDEN_OFFSET_RATE)
            sq_error += ((vk - v0) ** 2).sum()
        with torch.no_grad():
            free_energy = float(torch.cat([rbm.free_energy(c) for c in data.split(4096)]).mean())
        if not math.isfinite(free_energy):
            raise FloatingPointError(
                f"RBM training diverged in epoch {epoch + 1} (non-finite free energy); lower learning_rate (got {lr:g})"
            )
        record = {
            "epoch": epoch + 1,
            "reconstruction_error": float(sq_error) / data.numel(),
            "free_energy": free_energy,
            "momentum": momentum,
            "seconds": time.perf_counter() - t0,
        }
        history.records.append(record)
        if config.verbose:
            logger.info(
                "    rbm %d->%d epoch %d: reconstruction error %.5f, free energy %.2f (%.1fs)",
                rbm.n_visible,
                n_hidden,
                epoch + 1,
                record["reconstruction_error"],
                free_energy,
                record["seconds"],
            )
    rbm.history = history
    return rbm, history
