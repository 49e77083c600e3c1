"""The denoising autoencoder: an encoder f and a decoder g emitting p_decoder(x | h).

h = f(x̃) = s(W x̃ + b), and the decoder g(h) = W' h + c gives the parameters of the
reconstruction distribution (Vincent et al. 2010, eq. 1–2 and §2.3), with tied weights
W' = Wᵀ by default. The model never draws noise: the training loop asks a corruption process
for x̃ and calls :meth:`DAE.loss` with the clean target.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..distributions import Bernoulli, Gaussian, MixedTypeLikelihood, get_distribution
from ..numerics.precision import add_matmul_, matmul_into
from ..numerics.scratch import ScratchSpace
from ..utils.validation import check_choice, check_positive_int
from .registry import register_model

__all__ = ["DAEConfig", "DAE", "ACTIVATIONS", "activation_fn", "init_uniform_"]

ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "softplus": F.softplus,
    "linear": lambda t: t,
}


def activation_fn(name: str):
    """The element-wise activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    check_choice(name, "activation", tuple(ACTIVATIONS))
    return ACTIVATIONS[name]


def init_uniform_(weight: Tensor, activation: str, generator: torch.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010) uniform init, U(±√(6/(n_in + n_out))), times 4 for the sigmoid
    (the Theano tutorial's and the SdA papers' initialization)."""
    fan_out, fan_in = weight.shape
    bound = math.sqrt(6.0 / (fan_in + fan_out)) * (4.0 if activation == "sigmoid" else 1.0)
    with torch.no_grad():
        weight.uniform_(-bound, bound, generator=generator)
    return weight


@dataclass
class DAEConfig:
    """Everything needed to rebuild a :class:`DAE`; saved inside every checkpoint."""

    n_visible: int
    n_hidden: int
    tied_weights: bool = True
    activation: str = "sigmoid"
    reconstruction: str = "bernoulli"

    def __post_init__(self) -> None:
        check_positive_int(self.n_visible, "n_visible")
        check_positive_int(self.n_hidden, "n_hidden")
        check_choice(self.activation, "activation", tuple(ACTIVATIONS))
        get_distribution(self.reconstruction)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@register_model
class DAE(ScratchSpace, nn.Module):
    """A one-hidden-layer denoising autoencoder.

    Parameters: ``W`` (n_hidden, n_visible), hidden bias ``b`` (n_hidden), visible bias ``c``
    (n_visible), and with ``tied_weights=False`` a decoder weight ``W_prime`` (n_visible,
    n_hidden). Tied weights are one shared parameter, not a copy.
    """

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        tied_weights: bool = True,
        activation: str = "sigmoid",
        reconstruction: str = "bernoulli",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = DAEConfig(n_visible, n_hidden, bool(tied_weights), activation, reconstruction)
        self.act = activation_fn(activation)
        # the table estimators replace it by a MixedTypeLikelihood
        self.distribution: type[Bernoulli] | type[Gaussian] | MixedTypeLikelihood = get_distribution(reconstruction)
        self.W = nn.Parameter(init_uniform_(torch.empty(n_hidden, n_visible), activation, generator))
        self.b = nn.Parameter(torch.zeros(n_hidden))
        self.c = nn.Parameter(torch.zeros(n_visible))
        if tied_weights:
            self.register_parameter("W_prime", None)
        else:
            self.W_prime = nn.Parameter(init_uniform_(torch.empty(n_visible, n_hidden), activation, generator))

    @classmethod
    def from_config(cls, config: DAEConfig | dict[str, Any]) -> DAE:
        if isinstance(config, dict):
            config = DAEConfig(**config)
        return cls(**config.to_dict())

    @property
    def tied_weights(self) -> bool:
        return self.W_prime is None

    @property
    def decoder_weight(self) -> Tensor:
        """W' (n_visible, n_hidden): Wᵀ when the weights are tied."""
        return self.W.t() if self.W_prime is None else self.W_prime

    def encode(self, x: Tensor) -> Tensor:
        """h = s(W x + b) (eq. 1 of Vincent et al. 2010); ``x`` is (N, n_visible) or (N, ...)."""
        return self.act(F.linear(x.reshape(x.shape[0], -1), self.W, self.b))

    def decode(self, h: Tensor) -> Tensor:
        """The reconstruction distribution's parameters g(h) = W' h + c (logits or mean)."""
        return F.linear(h, self.decoder_weight, self.c)

    def forward(self, x_tilde: Tensor) -> Tensor:
        return self.decode(self.encode(x_tilde))

    def reconstruct(self, x: Tensor) -> Tensor:
        """The reconstruction mean r(x) = E[x | h = f(x)], shaped like ``x``."""
        return self.distribution.mean(self(x)).reshape(x.shape)

    def loss(self, x: Tensor, x_tilde: Tensor) -> Tensor:
        """Mean over the batch of −log p_decoder(x | f(x̃)) (cross-entropy or squared error)."""
        params = self(x_tilde)
        return self.distribution.loss(x.reshape(params.shape), params).mean()

    @property
    def supports_fused_sgd(self) -> bool:
        """Whether :meth:`fused_sgd_step` applies (sigmoid encoder; any decoder and distribution)."""
        return self.config.activation == "sigmoid"

    @torch.no_grad()
    def fused_sgd_step(self, x: Tensor, x_tilde: Tensor, lr: float, compute_dtype: torch.dtype | None = None) -> Tensor:
        """One plain SGD step on :meth:`loss` with the gradient written out by hand.

        Exactly the step autograd + ``torch.optim.SGD`` would take, with no autograd graph and no
        fresh allocations (work arrays are reused):

            a = W x̃ + b,  h = sigmoid(a),  z = W' h + c
            δz = ∂L/∂z = (sigmoid(z) − x) (Bernoulli)  or  2 (z − x) (Gaussian), over the batch mean
            δa = (W'ᵀ δz) ⊙ h ⊙ (1 − h)
            W ← W − lr (δaᵀ x̃ + [tied] hᵀ δz),  W' ← W' − lr δzᵀ h,  b ← b − lr Σδa,  c ← c − lr Σδz

        With tied weights the two terms of W's gradient are one product, [δa; h]ᵀ [x̃; δz]: four
        matrix products per step instead of five, and one pass over W for the update instead of two.
        The work arrays L = [δa; h], R = [x̃; δz] and z are reused from step to step.
        ``compute_dtype`` (e.g. ``torch.bfloat16``) computes the four products in that precision
        from a copy of the weights made at the start of the step; all else stays in the weights'
        dtype (:mod:`daekit.numerics.precision`).
        Returns the mean loss of the batch (before the step).
        """
        n = x.shape[0]
        x, x_tilde = x.reshape(n, -1), x_tilde.reshape(n, -1)
        h_dim, d = self.config.n_hidden, self.config.n_visible
        left, right, z = self._scratch("sgd", [(2 * n, h_dim), (2 * n, d), (n, d)], self.W.dtype, self.W.device)
        da, h = left[:n], left[n:]
        right_x, dz = right[:n], right[n:]
        low = compute_dtype if compute_dtype not in (None, self.W.dtype) else None
        W: Tensor
        W, W_dec = self.W, self.decoder_weight
        if low is not None:  # this step's weights, rounded once for all its products
            copies = self._rounded_copies([p for p in (self.W, self.W_prime) if p is not None], low)
            W = copies[0]
            W_dec = W.t() if self.W_prime is None else copies[1]
        right_x.copy_(x_tilde)
        matmul_into(h, right_x, W.t(), self.b).sigmoid_()
        matmul_into(z, h, W_dec.t(), self.c)
        if self.distribution.name == "bernoulli":
            loss = (F.softplus(z).sum() - torch.dot(x.reshape(-1), z.view(-1))) / n
            torch.sigmoid(z, out=dz).sub_(x).div_(n)
        else:
            torch.sub(z, x, out=dz)
            loss = dz.square().sum() / n
            dz.mul_(2.0 / n)
        matmul_into(da, dz, W_dec)
        torch.ops.aten.sigmoid_backward.grad_input(da, h, grad_input=da)  # δa = δh ⊙ h(1 − h)
        if self.W_prime is None:
            add_matmul_(self.W, left.t(), right, -lr, low)
        else:
            add_matmul_(self.W_prime, dz.t(), h, -lr, low)
            add_matmul_(self.W, da.t(), right_x, -lr, low)
        ones = torch.ones(n, dtype=x.dtype, device=x.device)
        self.b.addmv_(da.t(), ones, alpha=-lr)  # b ← b − lr Σ δa
        self.c.addmv_(dz.t(), ones, alpha=-lr)
        return loss

    def extra_repr(self) -> str:
        c = self.config
        return f"{c.n_visible} -> {c.n_hidden}, tied={c.tied_weights}, activation={c.activation}, reconstruction={c.reconstruction}"
