"""Score networks: MLPs that output a score estimate s_θ(x) ≈ ∇ₓ log q(x).

* :class:`ScoreNet` — s_θ(x), trained with any objective of :mod:`daekit.score` (J_DSM, J_ISM,
  J_ESM) at one noise level.
* :class:`NoiseConditionalScoreNet` — s_θ(x, σ) for many noise levels at once (Song & Ermon
  2019, NCSN), trained with :func:`daekit.score.annealed_dsm_loss`. σ enters as the input feature
  log σ (optionally with sinusoidal features of it) and the network's output is divided by σ,
  s_θ(x, σ) = net(x, log σ)/σ (Song & Ermon 2020, "Improved techniques", §3.4), so that the
  σ²-weighted loss ½‖σ s_θ + ε‖² has the same scale at every σ.

Both take a batch (N, n_features) — or (N, ...) flattened to n_features — and return a tensor
shaped like the input. Smooth activations (softplus, SiLU, tanh, ELU, GELU) are the default
because J_ISM differentiates the network twice (a ReLU network has ∂sᵢ/∂xᵢ = 0 almost
everywhere). Every model has a ``config`` dataclass and ``from_config``; both are registered with
:mod:`daekit.models.registry`, so ``save_model``/``load_model`` round-trip them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn

from ..utils.validation import check_choice, check_positive, check_positive_int
from .registry import register_model

__all__ = [
    "SCORE_ACTIVATIONS",
    "FourierFeatures",
    "ScoreNetConfig",
    "ScoreNet",
    "NoiseConditionalScoreNetConfig",
    "NoiseConditionalScoreNet",
]

SCORE_ACTIVATIONS = {
    "softplus": nn.Softplus,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "relu": nn.ReLU,
}


def _check_hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    if isinstance(hidden, int):
        hidden = (hidden,)
    try:
        hidden = tuple(hidden)
    except TypeError:
        raise TypeError(f"hidden must be a sequence of layer widths, got {hidden!r}") from None
    for i, h in enumerate(hidden):
        check_positive_int(h, f"hidden[{i}]")
    return tuple(int(h) for h in hidden)


def _mlp(
    n_in: int, hidden: tuple[int, ...], n_out: int, activation: str, generator: torch.Generator | None
) -> nn.Sequential:
    """Linear/activation stack; weights and biases ~ U(±1/√fan_in) (PyTorch's default bounds)
    drawn from ``generator`` so that the same seed builds the same network."""
    layers: list[nn.Module] = []
    sizes = (n_in, *hidden, n_out)
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        bound = 1.0 / math.sqrt(a)
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=generator)
            lin.bias.uniform_(-bound, bound, generator=generator)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(SCORE_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class FourierFeatures(nn.Module):
    """γ(x) = [x, sin(Bx), cos(Bx)] with a fixed random B ∈ ℝ^{m×d}, B_ij ~ N(0, scale²)
    (random Fourier features, Tancik et al. 2020). They let an MLP fit the sharp, many-mode
    scores of small σ in a few thousand steps, where a plain MLP lingers on plateaus (spectral
    bias). B is a buffer: it is saved in checkpoints and never trained."""

    B: Tensor

    def __init__(self, n_features: int, m: int, scale: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        B = torch.randn((m, n_features), generator=generator) * scale
        self.register_buffer("B", B)

    @property
    def n_out(self) -> int:
        return self.B.shape[1] + 2 * self.B.shape[0]

    def forward(self, x: Tensor) -> Tensor:
        z = x @ self.B.t().to(x)
        return torch.cat([x, torch.sin(z), torch.cos(z)], dim=1)


@dataclass
class ScoreNetConfig:
    """Everything needed to rebuild a :class:`ScoreNet`."""

    n_features: int
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "softplus"
    output_scale: float = 1.0
    fourier_features: int = 0
    fourier_scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive_int(self.n_features, "n_features")
        self.hidden = _check_hidden(self.hidden)
        check_choice(self.activation, "activation", tuple(SCORE_ACTIVATIONS))
        self.output_scale = check_positive(self.output_scale, "output_scale")
        check_positive_int(self.fourier_features, "fourier_features", allow_zero=True)
        self.fourier_scale = check_positive(self.fourier_scale, "fourier_scale")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


@register_model
class ScoreNet(nn.Module):
    """An MLP score model s_θ: ℝᵈ → ℝᵈ, s_θ(x) ≈ ∇ₓ log q(x) (Vincent 2011's Ψ(x; θ), §3).

    Parameters
    ----------
    n_features : int
        d, the input and output dimension.
    hidden : sequence of int
        Widths of the hidden layers, default (128, 128).
    activation : str
        One of :data:`SCORE_ACTIVATIONS` (default "softplus"; avoid "relu" with J_ISM).
    output_scale : float
        A fixed factor κ on the output, s_θ(x) = κ·net(x) (default 1). Training at a single
        noise level σ, κ = 1/σ is the parameterization of Song & Ermon (2020, §3.4): the net
        then predicts σ·∇ log q_σ, whose DSM target −ε has unit scale, which Adam fits much
        faster than targets of size 1/σ.
    fourier_features : int
        m > 0 feeds the MLP with [x, sin(Bx), cos(Bx)] (:class:`FourierFeatures`, B_ij ~
        N(0, fourier_scale²)) instead of x; 0 (default) is the plain MLP.
    fourier_scale : float
        Standard deviation of the random frequencies (radians per unit of x).
    generator : torch.Generator, optional
        Source of the initial weights (and of B).
    """

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int] = (128, 128),
        activation: str = "softplus",
        output_scale: float = 1.0,
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        # __post_init__ turns any sequence of widths into a tuple
        self.config = ScoreNetConfig(
            n_features, cast(tuple[int, ...], hidden), activation, output_scale, fourier_features, fourier_scale
        )
        if self.config.fourier_features:
            self.features: nn.Module = FourierFeatures(
                n_features, fourier_features, self.config.fourier_scale, generator
            )
            n_in = self.features.n_out
        else:
            self.features = nn.Identity()
            n_in = n_features
        self.net = _mlp(n_in, self.config.hidden, n_features, activation, generator)

    @classmethod
    def from_config(cls, config: ScoreNetConfig | dict[str, Any]) -> ScoreNet:
        if isinstance(config, dict):
            config = ScoreNetConfig(**config)
        return cls(**config.to_dict())

    def forward(self, x: Tensor) -> Tensor:
        """s_θ(x) = κ·net(γ(x)), shaped like ``x`` (N, n_features) or (N, ...)."""
        out = self.net(self.features(x.reshape(x.shape[0], -1)))
        if self.config.output_scale != 1.0:
            out = out * self.config.output_scale
        return out.reshape(x.shape)

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"n_features={c.n_features}, hidden={list(c.hidden)}, activation={c.activation}, "
            f"output_scale={c.output_scale:g}, fourier_features={c.fourier_features}"
        )


@dataclass
class NoiseConditionalScoreNetConfig:
    """Everything needed to rebuild a :class:`NoiseConditionalScoreNet`."""

    n_features: int
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "softplus"
    n_frequencies: int = 0
    fourier_features: int = 0
    fourier_scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive_int(self.n_features, "n_features")
        self.hidden = _check_hidden(self.hidden)
        check_choice(self.activation, "activation", tuple(SCORE_ACTIVATIONS))
        check_positive_int(self.n_frequencies, "n_frequencies", allow_zero=True)
        check_positive_int(self.fourier_features, "fourier_features", allow_zero=True)
        self.fourier_scale = check_positive(self.fourier_scale, "fourier_scale")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


@register_model
class NoiseConditionalScoreNet(nn.Module):
    """A noise-conditional score model s_θ(x, σ) = net(x, γ(σ))/σ (Song & Ermon 2019, 2020).

    The noise embedding γ(σ) is log σ, followed by ``n_frequencies`` pairs
    sin(2ʲ log σ), cos(2ʲ log σ), j = 0, …, n_frequencies − 1. Dividing by σ is the
    "s_θ(x, σ) = s_θ(x)/σ" parameterization of Song & Ermon (2020, §3.4): with λ(σ) = σ², the
    annealed objective ½‖σ s_θ(x̃, σ) + ε‖² asks the net for a target of unit scale at every σ.

    Parameters
    ----------
    n_features : int
        d, the input and output dimension.
    hidden, activation, generator
        As for :class:`ScoreNet`.
    n_frequencies : int
        Number of sinusoidal features of log σ added to log σ (default 0).
    fourier_features, fourier_scale
        Random Fourier features of x, as for :class:`ScoreNet`.
    """

    frequencies: Tensor

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int] = (128, 128),
        activation: str = "softplus",
        n_frequencies: int = 0,
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        # __post_init__ turns any sequence of widths into a tuple
        self.config = NoiseConditionalScoreNetConfig(
            n_features, cast(tuple[int, ...], hidden), activation, n_frequencies, fourier_features, fourier_scale
        )
        if self.config.fourier_features:
            self.features: nn.Module = FourierFeatures(
                n_features, fourier_features, self.config.fourier_scale, generator
            )
            n_in = self.features.n_out
        else:
            self.features = nn.Identity()
            n_in = n_features
        n_embed = 1 + 2 * self.config.n_frequencies
        self.net = _mlp(n_in + n_embed, self.config.hidden, n_features, activation, generator)
        self.register_buffer(
            "frequencies", 2.0 ** torch.arange(self.config.n_frequencies, dtype=torch.float32), persistent=False
        )

    @classmethod
    def from_config(cls, config: NoiseConditionalScoreNetConfig | dict[str, Any]) -> NoiseConditionalScoreNet:
        if isinstance(config, dict):
            config = NoiseConditionalScoreNetConfig(**config)
        return cls(**config.to_dict())

    def embed(self, sigma: Tensor) -> Tensor:
        """γ(σ): (N, 1 + 2·n_frequencies) features of log σ."""
        log_sigma = torch.log(sigma).reshape(-1, 1)
        if self.config.n_frequencies == 0:
            return log_sigma
        angles = log_sigma * self.frequencies.to(log_sigma)
        return torch.cat([log_sigma, torch.sin(angles), torch.cos(angles)], dim=1)

    def forward(self, x: Tensor, sigma: Tensor | float) -> Tensor:
        """s_θ(x, σ) shaped like ``x``; ``sigma`` is a positive scalar or one value per example (N,)."""
        n = x.shape[0]
        flat = x.reshape(n, -1)
        sigma = torch.as_tensor(sigma, dtype=flat.dtype, device=flat.device)
        if sigma.numel() == 1:
            sigma = sigma.reshape(1).expand(n)
        sigma = sigma.reshape(-1)
        if sigma.shape[0] != n:
            raise ValueError(
                f"sigma must be a scalar or have one value per example ({n}), got shape {tuple(sigma.shape)}"
            )
        if not (sigma > 0).all():
            raise ValueError("sigma must be > 0")
        out = self.net(torch.cat([self.features(flat), self.embed(sigma)], dim=1)) / sigma[:, None]
        return out.reshape(x.shape)

    def at(self, sigma: float):
        """The score function x ↦ s_θ(x, σ) at a fixed noise level (for metrics and plots)."""
        return lambda x: self(x, sigma)

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"n_features={c.n_features}, hidden={list(c.hidden)}, activation={c.activation}, "
            f"n_frequencies={c.n_frequencies}, fourier_features={c.fourier_features}"
        )
