"""Bernoulli–Bernoulli restricted Boltzmann machine trained by contrastive divergence (CD-k).

The RBM of the DBN baseline (:mod:`daekit.dbn`), following Hinton's *A Practical Guide to
Training Restricted Boltzmann Machines* (UTML TR 2010-003) and the DBN of Hinton et al. (2006):

* energy E(v, h) = −cᵀv − bᵀh − hᵀW v with binary v and h; W is (n_hidden, n_visible), the
  layout of ``nn.Linear.weight``, so P(h = 1 | v) = sigmoid(W v + b) is one linear layer;
* inputs in [0, 1] are used as the probabilities of the visible units (the positive statistics
  come from the data itself, as for MNIST intensities and for the hidden probabilities of a
  lower RBM);
* CD-k (k = 1 by default): the positive statistics use P(h | v_data); the chain samples binary
  hidden states, reconstructs the visible *probabilities* (no visible sampling, guide §3.2),
  and the negative statistics use P(h | v_k);
* minibatch SGD on the statistics averaged over the minibatch, with momentum (``momentum``
  for the first ``momentum_epochs`` epochs, then ``final_momentum``: 0.5 then 0.9, guide §9)
  and L2 weight decay on W only (2e-4, guide §10);
* initialization: W ~ N(0, ``init_std``²) (0.01), hidden biases 0, visible biases
  log(p / (1 − p)) of the training data's mean p_i (clipped to [1e-3, 1 − 1e-3]; guide §8);
* every random draw (initialization, minibatch order, hidden samples) comes from explicit
  ``torch.Generator`` objects seeded from ``seed``: the same seed gives the same RBM.

**Centering** (``centering=True``, the default; Montavon & Müller 2012, *Deep Boltzmann machines
and the centering trick*; Melchior, Fischer & Wiskott 2016, *How to center deep Boltzmann
machines*, JMLR 17): the gradient is taken in the parametrization
E = −cᵀv − bᵀh − (h − λ)ᵀW (v − μ), with μ the mean of the training data and λ a running
average of the hidden probabilities on the data (starting at 0.5, rate 0.01 per minibatch):

    ΔW ∝ <(h − λ)(v − μ)ᵀ>_data − <(h − λ)(v − μ)ᵀ>_k,
    Δb ∝ <h>_data − <h>_k,   Δc ∝ <v>_data − <v>_k,

and each step is mapped back to the ordinary parameters (b gets Δb − ΔW μ, c gets Δc − ΔWᵀ λ),
which are the only ones stored — so the trained RBM is an ordinary RBM and P(h = 1 | v) = sigmoid(W v + b)
whichever way it was trained. It is the same model and the same stationary points; only the
steps differ. Why it matters: uncentred, the weight gradient of hidden unit j carries the term
(<h_j>_data − <h_j>_k) μ, so when the inputs are dense the steps mostly move all the weights of a
unit together, along the data mean; a step δ on every weight of a unit moves its input W_j·v by
δ Σ_i v_i ≈ 440 δ on mnist-back-rand (mean pixel 0.56) against ≈ 100 δ on MNIST (0.13). At
learning rates that learn anything in a few epochs the units then overshoot and end constant
over the data (off for every example, or all examples alike), and at smaller ones little is
learnt in the epochs available. Centring takes the mean out of the statistics, so the same
learning rates work on sparse and dense inputs (:mod:`daekit.dbn` has the measurements).
``centering=False`` gives the plain RBM of the guide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.runtime import resolve_device
from ..utils.validation import check_positive, check_positive_int

__all__ = ["RBMConfig", "RBM", "as_unit_interval", "cd_statistics", "cd_momentum_step"]


def as_unit_interval(x: Any, name: str = "x") -> np.ndarray:
    """``x`` as a float32 array (N, D) in [0, 1], or ``ValueError`` naming ``name``."""
    a = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0 or len(a) == 0:
        raise ValueError(f"{name} must hold at least one example")
    a = a.reshape(len(a), -1)
    if not np.isfinite(a).all() or a.min() < 0.0 or a.max() > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (Bernoulli visible units of an RBM), got values in [{a.min():g}, {a.max():g}]"
        )
    return a


def _check_momentum(value: Any, name: str) -> float:
    value = check_positive(value, name, allow_zero=True)
    if value >= 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


@dataclass
class RBMConfig:
    """Training settings of :func:`train_rbm` (see the module docstring); validated on creation:
    a bad value raises ``ValueError`` (or ``TypeError`` for a wrong type) naming the field.

    ``learning_rate`` multiplies the minibatch-averaged statistics; with momentum μ the step in a
    steady direction is ``learning_rate / (1 − μ)``.
    """

    epochs: int = 15
    learning_rate: float = 0.05
    batch_size: int = 10
    k: int = 1
    momentum: float = 0.5
    final_momentum: float = 0.9
    momentum_epochs: int = 5
    weight_decay: float = 2e-4
    init_std: float = 0.01
    centering: bool = True
    seed: int = 0
    device: str = "auto"
    verbose: int = 0

    def __post_init__(self) -> None:
        self.epochs = check_positive_int(self.epochs, "epochs", allow_zero=True)
        self.learning_rate = check_positive(self.learning_rate, "learning_rate")
        self.batch_size = check_positive_int(self.batch_size, "batch_size")
        self.k = check_positive_int(self.k, "k")
        self.momentum = _check_momentum(self.momentum, "momentum")
        self.final_momentum = _check_momentum(self.final_momentum, "final_momentum")
        self.momentum_epochs = check_positive_int(self.momentum_epochs, "momentum_epochs", allow_zero=True)
        self.weight_decay = check_positive(self.weight_decay, "weight_decay", allow_zero=True)
        self.init_std = check_positive(self.init_std, "init_std", allow_zero=True)
        if not isinstance(self.centering, (bool, np.bool_)):
            raise TypeError(f"centering must be True or False, got {self.centering!r}")
        self.centering = bool(self.centering)
        self.seed = check_positive_int(self.seed, "seed", allow_zero=True)
        resolve_device(self.device)
        self.verbose = check_positive_int(self.verbose, "verbose", allow_zero=True)

    def momentum_at(self, epoch: int) -> float:
        """The momentum of ``epoch`` (0-based)."""
        return self.momentum if epoch < self.momentum_epochs else self.final_momentum

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RBM(nn.Module):
    """A Bernoulli–Bernoulli RBM with ``weight`` W (n_hidden, n_visible), ``hidden_bias`` b
    (n_hidden,) and ``visible_bias`` c (n_visible,). The parameters are updated in place by
    :func:`train_rbm` (no autograd); ``history`` is its :class:`RBMHistory` once trained."""

    def __init__(
        self, n_visible: int, n_hidden: int, *, init_std: float = 0.01, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        n_visible = check_positive_int(n_visible, "n_visible")
        n_hidden = check_positive_int(n_hidden, "n_hidden")
        init_std = check_positive(init_std, "init_std", allow_zero=True)
        self.weight = nn.Parameter(
            torch.randn(n_hidden, n_visible, generator=generator) * init_std, requires_grad=False
        )
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden), requires_grad=False)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible), requires_grad=False)
        self.history: Any = None  # the rbm_training.RBMHistory of the run that trained it

    @property
    def n_visible(self) -> int:
        return self.weight.shape[1]

    @property
    def n_hidden(self) -> int:
        return self.weight.shape[0]

    def hidden_probs(self, v: Tensor) -> Tensor:
        """P(h = 1 | v) = sigmoid(W v + b), (N, n_hidden)."""
        return torch.sigmoid(F.linear(v, self.weight, self.hidden_bias))

    def visible_probs(self, h: Tensor) -> Tensor:
        """P(v = 1 | h) = sigmoid(Wᵀ h + c), (N, n_visible)."""
        return torch.sigmoid(h @ self.weight + self.visible_bias)

    def forward(self, v: Tensor) -> Tensor:
        return self.hidden_probs(v)

    def free_energy(self, v: Tensor) -> Tensor:
        """F(v) = −cᵀv − Σ_j softplus((W v + b)_j) per example (N,); p(v) ∝ exp(−F(v))."""
        return -(v @ self.visible_bias) - F.softplus(F.linear(v, self.weight, self.hidden_bias)).sum(1)

    @torch.no_grad()
    def reconstruction_error(self, v: Tensor) -> float:
        """Mean squared error between ``v`` and its mean-field reconstruction P(v | P(h | v))."""
        return float(((self.visible_probs(self.hidden_probs(v)) - v) ** 2).mean())

    @torch.no_grad()
    def transform(self, x: Any, chunk_size: int = 4096) -> np.ndarray:
        """P(h = 1 | x) as a float32 numpy array (what scikit-learn's ``transform`` returns)."""
        v = torch.from_numpy(as_unit_interval(x)).to(self.weight.device)
        return torch.cat([self.hidden_probs(c) for c in v.split(chunk_size)]).cpu().numpy()

    def extra_repr(self) -> str:
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}"


@torch.no_grad()
def cd_statistics(
    rbm: RBM,
    v0: Tensor,
    k: int = 1,
    generator: torch.Generator | None = None,
    *,
    visible_offset: Tensor | None = None,
    hidden_offset: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The CD-k estimate of the log-likelihood gradient on the minibatch ``v0``, averaged over it.

    Returns ``(dW, db, dc, h0, vk)``: dW = <(h − λ)(v − μ)ᵀ>_data − <(h − λ)(v − μ)ᵀ>_k
    (n_hidden, n_visible), db = <h>_data − <h>_k, dc = <v>_data − <v>_k, the data's hidden
    probabilities h0 and the reconstruction vk that ends the chain. μ (``visible_offset``) and λ
    (``hidden_offset``) default to 0, the ordinary gradient. The statistics use hidden
    probabilities; the chain samples binary hidden states (from ``generator``) and keeps visible
    probabilities.
    """
    k = check_positive_int(k, "k")
    h0 = rbm.hidden_probs(v0)
    hk, vk = h0, v0
    for _ in range(k):
        vk = rbm.visible_probs(torch.bernoulli(hk, generator=generator))
        hk = rbm.hidden_probs(vk)
    mu = 0.0 if visible_offset is None else visible_offset
    lam = 0.0 if hidden_offset is None else hidden_offset
    dw = ((h0 - lam).T @ (v0 - mu) - (hk - lam).T @ (vk - mu)) / v0.shape[0]
    return dw, (h0 - hk).mean(0), (v0 - vk).mean(0), h0, vk


@torch.no_grad()
def cd_momentum_step(
    rbm: RBM,
    v0: Tensor,
    velocity: Sequence[Tensor],
    *,
    lr: float,
    momentum: float,
    weight_decay: float = 0.0,
    k: int = 1,
    generator: torch.Generator | None = None,
    visible_offset: Tensor | None = None,
    hidden_offset: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One step of :func:`train_rbm`, in place: with the CD-k statistics of :func:`cd_statistics`
    (same offsets, same draws from ``generator``) and ``velocity = [V_W, V_b, V_c]``,

        V_W ← momentum·V_W + lr·(dW − weight_decay·W),  V_b ← momentum·V_b + lr·db,
        V_c ← momentum·V_c + lr·dc,
        W ← W + V_W,  b ← b + V_b − V_W μ,  c ← c + V_c − V_Wᵀ λ

    (the last two terms map a centred step back to the ordinary parameters; 0 without offsets).
    Returns the data's hidden probabilities h0 and the reconstruction v_k.

    Written for speed at the small minibatches of the papers (10): the two outer products of dW
    are one product [h0 − λ; −(h_k − λ)]ᵀ[v0 − μ; v_k − μ] accumulated straight into V_W
    (``addmm_`` with beta = momentum), so a step makes five passes over W-sized arrays instead
    of a dozen. Equal to :func:`cd_statistics` followed by those updates written term by term
    (tested in float64).
    """
    w, b, c = rbm.weight, rbm.hidden_bias, rbm.visible_bias
    vel_w, vel_b, vel_c = velocity
    h0 = rbm.hidden_probs(v0)
    hk, vk = h0, v0
    for _ in range(check_positive_int(k, "k")):
        vk = rbm.visible_probs(torch.bernoulli(hk, generator=generator))
        hk = rbm.hidden_probs(vk)
    n = v0.shape[0]
    left, right = torch.cat([h0, hk]), torch.cat([v0, vk])
    if hidden_offset is not None:
        left.sub_(hidden_offset)
    if visible_offset is not None:
        right.sub_(visible_offset)
    left[n:].neg_()
    vel_w.addmm_(left.T, right, beta=momentum, alpha=lr / n)
    if weight_decay:
        vel_w.add_(w, alpha=-lr * weight_decay)
    vel_b.mul_(momentum).add_((h0 - hk).mean(0), alpha=lr)
    vel_c.mul_(momentum).add_((v0 - vk).mean(0), alpha=lr)
    w.add_(vel_w)
    b.add_(vel_b)
    c.add_(vel_c)
    if visible_offset is not None:
        b.sub_(vel_w @ visible_offset)
    if hidden_offset is not None:
        c.sub_(hidden_offset @ vel_w)
    return h0, vk
