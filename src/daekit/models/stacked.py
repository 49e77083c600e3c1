"""The feed-forward classifier a stack of trained encoders initialises, and its hand-written SGD step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..numerics.precision import add_matmul_, matmul_into
from ..numerics.scratch import ScratchSpace
from ..utils.validation import check_choice, check_positive_int
from .dae import ACTIVATIONS, DAE, activation_fn, init_uniform_
from .registry import register_model

__all__ = ["StackedNetworkConfig", "StackedNetwork"]


@dataclass
class StackedNetworkConfig:
    """Everything needed to rebuild a :class:`StackedNetwork`; saved inside every checkpoint."""

    n_visible: int
    hidden_layer_sizes: list[int] = field(default_factory=lambda: [1000, 1000, 1000])
    n_classes: int = 10
    activation: str = "sigmoid"

    def __post_init__(self) -> None:
        check_positive_int(self.n_visible, "n_visible")
        self.hidden_layer_sizes = [
            check_positive_int(s, f"hidden_layer_sizes[{i}]") for i, s in enumerate(self.hidden_layer_sizes)
        ]
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

    Hidden layers start from the Glorot-uniform init of :func:`daekit.models.dae.init_uniform_` (or
    from pretrained encoders, :meth:`from_pretrained`); the output layer starts at zero (as the
    logistic regression of the Theano tutorial).
    """

    def __init__(
        self,
        n_visible: int,
        hidden_layer_sizes: Sequence[int],
        n_classes: int,
        activation: str = "sigmoid",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = StackedNetworkConfig(n_visible, list(hidden_layer_sizes), n_classes, activation)
        self.act = activation_fn(activation)
        sizes = [n_visible, *self.config.hidden_layer_sizes]
        hidden = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.hidden = nn.ModuleList(hidden)
        for layer in hidden:
            init_uniform_(layer.weight, activation, generator)
            nn.init.zeros_(layer.bias)
        self.output = nn.Linear(sizes[-1], n_classes)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    @classmethod
    def from_config(cls, config: StackedNetworkConfig | dict[str, Any]) -> StackedNetwork:
        if isinstance(config, dict):
            config = StackedNetworkConfig(**config)
        return cls(**config.to_dict())

    @classmethod
    def from_pretrained(cls, encoders: Sequence[DAE], n_classes: int) -> StackedNetwork:
        """The network whose hidden layer k starts from the encoder (W, b) of ``encoders[k]``."""
        if not encoders:
            raise ValueError("encoders must hold at least one pretrained DAE")
        activation = encoders[0].config.activation
        net = cls(encoders[0].config.n_visible, [e.config.n_hidden for e in encoders], n_classes, activation)
        for k, (layer, dae) in enumerate(zip(cast("Sequence[nn.Linear]", net.hidden), encoders)):
            if dae.config.n_visible != layer.in_features or dae.config.activation != activation:
                raise ValueError(
                    f"encoder {k + 1} ({dae.config.n_visible} -> {dae.config.n_hidden}, "
                    f"{dae.config.activation}) does not fit layer {k + 1} of the stack"
                )
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
        dtype (:mod:`daekit.numerics.precision`).
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
