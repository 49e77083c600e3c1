"""Denoisers D(x, σ) with the preconditioning of Karras et al. (2022, "EDM"), their loss and an
exponential moving average of the weights.

* :class:`EDMDenoiser` wraps any network F(x, c_noise) — the :class:`~daekit.models.unet.UNet`, or a
  user's module with that signature — into

      D(x, σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, c_noise(σ)),
      c_skip = σ_d²/(σ² + σ_d²), c_out = σ·σ_d/√(σ² + σ_d²), c_in = 1/√(σ² + σ_d²), c_noise = ¼ ln σ

  (EDM, Table 1 and §5). D is the denoising autoencoder of Vincent (2011) at every noise level:
  trained on x̃ = x + σε → x its squared error is denoising score matching, and its score is
  ψ(x, σ) = (D(x, σ) − x)/σ² (:func:`denoiser_score`, through
  :func:`daekit.score.reconstruction_score`).
* :class:`EDMLoss` — the objective E_{σ, x, ε} λ(σ)‖D(x + σε, σ) − x‖², λ(σ) = (σ² + σ_d²)/(σσ_d)²,
  ln σ ~ N(P_mean, P_std²) (:func:`sample_training_sigmas`), an ``objective(model, batch,
  generator)`` for :func:`daekit.fit`.
* :class:`WeightAverage` — an exponential moving average of the weights with EDM's half-life in
  images and its ramp-up (Appendix F.1), updated before every training forward pass of the model
  it watches; the averaged copy is the model used for sampling.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from ..utils.validation import check_choice, check_positive
from .registry import MODEL_REGISTRY, register_model

__all__ = [
    "EDMDenoiser",
    "EDMDenoiserConfig",
    "EDMLoss",
    "WeightAverage",
    "denoiser_score",
    "preconditioning",
    "sample_training_sigmas",
]


#: How the wrapped network is called: "c_noise" — F = net(x_in, c_noise); "score_network" — net is a
#: noise-conditional score network s(x, σ) = mlp(x, log σ)/σ (:class:`~daekit.score_networks.
#: NoiseConditionalScoreNet`) and F = σ·net(x_in, σ) = mlp(x_in, log σ), bounded in σ as F must be.
CONDITIONS = ("c_noise", "score_network")


def preconditioning(sigma: Tensor, sigma_data: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(c_skip, c_out, c_in, c_noise) of EDM (Karras et al. 2022, Table 1) at ``sigma``."""
    var = sigma.square() + sigma_data**2
    return sigma_data**2 / var, sigma * sigma_data / var.sqrt(), var.rsqrt(), sigma.log() / 4


@dataclass
class EDMDenoiserConfig:
    """Everything needed to rebuild an :class:`EDMDenoiser`: σ_d and the wrapped network's class
    (a name in the model registry) and config."""

    net_class: str
    net: dict[str, Any]
    sigma_data: float = 0.5
    condition: str = "c_noise"

    def __post_init__(self) -> None:
        self.sigma_data = check_positive(self.sigma_data, "sigma_data")
        check_choice(self.condition, "condition", CONDITIONS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "net_class": self.net_class,
            "net": dict(self.net),
            "sigma_data": self.sigma_data,
            "condition": self.condition,
        }


@register_model
class EDMDenoiser(nn.Module):
    """D(x, σ) = c_skip·x + c_out·F(c_in·x, c_noise) around the network ``net`` (module docstring).

    Parameters
    ----------
    net : nn.Module
        F, called as ``net(x_in, c_noise)`` with x_in shaped like x and c_noise of shape (N,);
        returns a tensor shaped like x. For saving and loading it needs a ``config`` with
        ``to_dict`` and a class registered with :func:`daekit.checkpoint.register_model`.
    sigma_data : float
        σ_d, the standard deviation of the training data (EDM: 0.5 for images in [−1, 1]).
    condition : "c_noise" or "score_network"
        How ``net`` is called (:data:`CONDITIONS`): "score_network" turns a
        :class:`~daekit.score_networks.NoiseConditionalScoreNet` MLP into F the same way.
    """

    def __init__(self, net: nn.Module, sigma_data: float = 0.5, condition: str = "c_noise") -> None:
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be an nn.Module F(x, c_noise), got {type(net).__name__}")
        net_config: dict[str, Any] = getattr(getattr(net, "config", None), "to_dict", dict)()
        self.config = EDMDenoiserConfig(type(net).__name__, net_config, sigma_data, condition)
        self.net = net

    @classmethod
    def from_config(cls, config: EDMDenoiserConfig | dict[str, Any]) -> EDMDenoiser:
        if isinstance(config, dict):
            config = EDMDenoiserConfig(**config)
        if config.net_class not in MODEL_REGISTRY:
            raise ValueError(f"unknown network class {config.net_class!r}; known: {sorted(MODEL_REGISTRY)}")
        return cls(MODEL_REGISTRY[config.net_class](config.net), config.sigma_data, config.condition)

    @property
    def sigma_data(self) -> float:
        return self.config.sigma_data

    def _sigma(self, sigma: Tensor | float, x: Tensor) -> Tensor:
        s = torch.as_tensor(sigma, dtype=torch.float32, device=x.device).reshape(-1)
        if s.numel() == 1:
            s = s.expand(x.shape[0])
        if s.shape[0] != x.shape[0]:
            raise ValueError(
                f"sigma must be a scalar or have one value per example ({x.shape[0]}), got shape {tuple(s.shape)}"
            )
        if not bool((s > 0).all()):
            raise ValueError("sigma must be > 0")
        return s

    def forward(self, x: Tensor, sigma: Tensor | float) -> Tensor:
        """D(x, σ), shaped like ``x`` (float32 out whatever precision F computes in)."""
        s = self._sigma(sigma, x)
        c_skip, c_out, c_in, c_noise = (
            c.reshape(-1, *([1] * (x.dim() - 1))) if i < 3 else c
            for i, c in enumerate(preconditioning(s, self.sigma_data))
        )
        x32 = x.float()
        x_in = (c_in * x32).contiguous(memory_format=torch.channels_last) if x.dim() == 4 else c_in * x32
        if self.config.condition == "c_noise":
            f = self.net(x_in, c_noise)
        else:
            f = self.net(x_in, s) * s.reshape(c_out.shape)
        return (c_skip * x32 + c_out * f.float()).to(x.dtype)

    def score(self, x: Tensor, sigma: float) -> Tensor:
        """ψ(x, σ) = (D(x, σ) − x)/σ² (:func:`denoiser_score`)."""
        return denoiser_score(self, x, sigma)


def denoiser_score(denoiser: Callable[[Tensor, Any], Tensor], x: Tensor, sigma: float) -> Tensor:
    """ψ(x, σ) = (D(x, σ) − x)/σ², the score of the σ-smoothed data density estimated by a
    denoiser (Vincent 2011, §4; Tweedie's formula), computed by
    :func:`daekit.score.reconstruction_score` as for every other DAE."""
    from ..score.energy import reconstruction_score

    return reconstruction_score(lambda v: denoiser(v, sigma), x, float(sigma))


def sample_training_sigmas(
    n: int,
    generator: torch.Generator | None,
    p_mean: float = -1.2,
    p_std: float = 1.2,
    device: torch.device | str = "cpu",
) -> Tensor:
    """n noise levels with ln σ ~ N(P_mean, P_std²) (EDM, Table 1: P_mean = −1.2, P_std = 1.2)."""
    z = torch.randn(n, generator=generator, device=device)
    return torch.exp(z * p_std + p_mean)


class EDMLoss:
    """E λ(σ)‖D(x + σε, σ) − x‖², λ(σ) = (σ² + σ_d²)/(σσ_d)², ln σ ~ N(P_mean, P_std²) (EDM, eq. 2
    and Table 1), as ``objective(model, batch, generator) -> loss`` for :func:`daekit.fit`.

    ``model`` is an :class:`EDMDenoiser` (its σ_d is used for λ) or any D(x, σ) with a
    ``sigma_data`` attribute. With this λ the loss is ‖F − F_target‖² with unit weight for every σ.
    Returns the mean over examples and components.
    """

    def __init__(self, p_mean: float = -1.2, p_std: float = 1.2) -> None:
        self.p_mean = float(p_mean)
        self.p_std = check_positive(p_std, "p_std")

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x = batch[0]
        sigma_data = float(getattr(model, "sigma_data", 0.5))
        sigma = sample_training_sigmas(x.shape[0], generator, self.p_mean, self.p_std, x.device)
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        s = sigma.reshape(-1, *([1] * (x.dim() - 1)))
        weight = (s.square() + sigma_data**2) / (s * sigma_data).square()
        denoised = model(x + s * eps, sigma)
        return (weight * (denoised.float() - x).square()).mean()

    def __repr__(self) -> str:
        return f"EDMLoss(p_mean={self.p_mean}, p_std={self.p_std})"


class WeightAverage:
    """An exponential moving average of ``model``'s parameters and buffers (EDM, Appendix F.1):
    after each batch of B images, θ̄ ← β θ̄ + (1 − β) θ with β = 0.5^(B / h), where the half-life
    h = min(``halflife_images``, ``rampup`` · images seen so far) grows at the start of training.

    The average is updated before every forward pass the model makes in training mode with
    autograd on (the weights after the previous optimizer step), so it plugs into
    :func:`daekit.fit` without a second loop. ``averaged`` is the averaged module (for sampling).
    Use :meth:`detach` to stop watching.
    """

    def __init__(self, model: nn.Module, halflife_images: float = 50_000.0, rampup: float | None = 0.05) -> None:
        self.halflife = check_positive(halflife_images, "halflife_images")
        self.rampup = None if rampup is None else check_positive(rampup, "rampup")
        self.images = 0
        self.averaged = AveragedModel(model, multi_avg_fn=self._average, use_buffers=True)
        self._pending_batch = 0
        self._handle = model.register_forward_pre_hook(self._before_forward)
        self._model = model

    def _decay(self, batch: int) -> float:
        h = self.halflife if self.rampup is None else min(self.halflife, self.rampup * self.images)
        return 0.0 if h <= 0 else 0.5 ** (batch / h)

    def _average(
        self,
        averaged: tuple[Tensor, ...] | list[Tensor],
        current: tuple[Tensor, ...] | list[Tensor],
        num_averaged: Tensor | int,
    ) -> None:
        beta = self._decay(self._pending_batch)
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], 1.0 - beta)
        for a, c in zip(averaged, current):
            if not a.is_floating_point():
                a.copy_(c)

    def _before_forward(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if module.training and torch.is_grad_enabled() and args and isinstance(args[0], Tensor):
            self.update(module, len(args[0]))

    @torch.no_grad()
    def update(self, model: nn.Module, batch: int) -> None:
        """Fold ``model``'s current weights into the average after a batch of ``batch`` images."""
        self.images += int(batch)
        self._pending_batch = int(batch)
        self.averaged.update_parameters(model)

    def module(self) -> nn.Module:
        """A standalone copy of the averaged model (same class and config as the watched one)."""
        return copy.deepcopy(self.averaged.module).eval()

    def detach(self) -> None:
        self._handle.remove()

    def state_dict(self) -> dict[str, Any]:
        return {"images": self.images, "averaged": self.averaged.module.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images = int(state["images"])
        self.averaged.module.load_state_dict(state["averaged"])
        self.averaged.n_averaged.fill_(max(1, self.images))
