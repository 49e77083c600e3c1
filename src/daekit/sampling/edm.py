"""Samplers of a denoiser D(x, σ) (an :class:`~daekit.models.edm.EDMDenoiser` or any callable like it).

* :func:`edm_sigma_steps` — the EDM time steps σᵢ = (σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) −
  σ_max^(1/ρ)))^ρ, i = 0 … n−1, then σ_n = 0 (Karras et al. 2022, eq. 5; ρ = 7, σ_max = 80,
  σ_min = 0.002).
* :func:`heun_sampler` — the probability-flow ODE dx/dσ = (x − D(x, σ))/σ integrated with Heun's
  second-order method on those steps (EDM, Algorithm 1: n steps, 2n − 1 evaluations of D), and
  with ``churn`` > 0 its stochastic variant (Algorithm 2): at each σᵢ in [s_min, s_max] noise is
  added to raise the level to σ̂ = (1 + γ)σᵢ, γ = min(churn/n, √2 − 1), before the Heun step.
* :func:`denoiser_annealed_langevin` — annealed Langevin dynamics (Song & Ermon 2019) on the
  denoiser's score ψ(x, σ) = (D(x, σ) − x)/σ², ending with x ← D(x, σ_L)
  (:func:`daekit.sampling.annealed_langevin` with its final denoising step).
* :func:`denoiser_chain` — the DAE Markov chain (Bengio et al. 2013) with the denoiser at one
  fixed σ: x̃ = x + σε, x ← D(x̃, σ) (:func:`daekit.sampling.dae_chain`, moving by the mean).

Conventions as in :mod:`daekit.sampling`: every random draw comes from ``generator``; inputs are
not modified; ``mask`` (bool, True = observed) with ``observed`` values clamps components
(inpainting) — they hold their observed value in the returned samples; the model is put in eval
mode for the run; ``progress`` shows a tqdm bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..corruption import Gaussian
from ..models.edm import denoiser_score
from ..score.matching import geometric_sigmas
from ..utils.validation import check_positive, check_positive_int
from ._run import eval_mode as _eval_mode
from .chain import dae_chain
from .clamping import clamp_observed
from .clamping import prepare_clamp as _prepare_clamp
from .langevin import annealed_langevin
from .registry import register_sampler

__all__ = [
    "DENOISER_METHODS",
    "STOCHASTIC_DEFAULTS",
    "denoiser_annealed_langevin",
    "denoiser_chain",
    "draw_denoiser_samples",
    "edm_sigma_steps",
    "heun_sampler",
]

Denoiser = Callable[[Tensor, Any], Tensor]

#: EDM's stochastic-sampler settings (Karras et al. 2022, Table 5, ImageNet-64 column; S_noise 1.003).
STOCHASTIC_DEFAULTS = {"churn": 40.0, "s_min": 0.05, "s_max": 50.0, "s_noise": 1.003}


def edm_sigma_steps(
    n_steps: int = 18,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    device: torch.device | str = "cpu",
) -> Tensor:
    """The n + 1 noise levels σ_0 = σ_max > … > σ_{n−1} = σ_min, σ_n = 0 (EDM, eq. 5), float64."""
    n_steps = check_positive_int(n_steps, "n_steps")
    sigma_min, sigma_max = check_positive(sigma_min, "sigma_min"), check_positive(sigma_max, "sigma_max")
    rho = check_positive(rho, "rho")
    if sigma_min > sigma_max:
        raise ValueError(f"sigma_min must be <= sigma_max, got {sigma_min} > {sigma_max}")
    i = torch.arange(n_steps, dtype=torch.float64, device=device)
    frac = i / max(n_steps - 1, 1)
    steps = (sigma_max ** (1 / rho) + frac * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([steps, steps.new_zeros(1)])


def _check_latents(x: Any, name: str) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty floating-point batch (N, ...), got "
            f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}"
        )
    return x


def _noised_clamp(clamp: tuple[Tensor, Tensor] | None, latents: Tensor, sigma: float) -> tuple[Tensor, Tensor] | None:
    """The clamp at noise level σ: observed + σ·z for the fixed latent z (the "replacement"
    conditioning of Song et al. 2021, Appendix I), so the network sees a consistent noisy image."""
    if clamp is None:
        return None
    mask, values = clamp
    return mask, values + sigma * latents


@register_sampler("ode")
def heun_sampler(
    denoiser: Denoiser,
    latents: Tensor,
    n_steps: int = 18,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
    observed: Tensor | None = None,
    *,
    churn: float = 0.0,
    s_min: float = 0.0,
    s_max: float = math.inf,
    s_noise: float = 1.0,
    return_all: bool = False,
    progress: bool = False,
) -> Tensor:
    """EDM's deterministic sampler (Algorithm 1) or, with ``churn`` > 0, its stochastic sampler
    (Algorithm 2), from x_0 = σ_max·``latents`` (``latents`` ~ N(0, I), shape (N, ...)).

    ``n_steps`` steps cost 2·n_steps − 1 evaluations of D (18 steps: 35). ``generator`` supplies
    the churn noise. With ``mask``, the observed components follow observed + σᵢ·latents along
    the steps and equal ``observed`` in the result. Returns (N, ...) (or, with ``return_all``,
    (n_steps + 1, N, ...) from x_0 on), in ``latents``' dtype.
    """
    latents = _check_latents(latents, "latents")
    steps = edm_sigma_steps(n_steps, sigma_min, sigma_max, rho)
    churn = check_positive(churn, "churn", allow_zero=True)
    s_noise = check_positive(s_noise, "s_noise")
    clamp = _prepare_clamp(latents, mask, observed)
    if clamp is not None and observed is None:
        raise ValueError("mask needs observed (the clamped values); latents are noise, not an image")
    gamma_max = min(churn / n_steps, math.sqrt(2) - 1)
    with torch.no_grad(), _eval_mode(denoiser):
        x = clamp_observed(latents.to(torch.float64) * steps[0], _noised_clamp(clamp, latents, float(steps[0])))
        states = [x.to(latents.dtype)] if return_all else []
        for i in tqdm(range(n_steps), desc="heun", unit="step", disable=None if progress else True, leave=False):
            t_cur, t_next = float(steps[i]), float(steps[i + 1])
            gamma = gamma_max if s_min <= t_cur <= s_max else 0.0
            t_hat = t_cur * (1 + gamma)
            if gamma > 0:
                z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                x = x + math.sqrt(t_hat**2 - t_cur**2) * s_noise * z
                x = clamp_observed(x, _noised_clamp(clamp, latents, t_hat))
            d_cur = (x - denoiser(x.to(latents.dtype), t_hat).to(torch.float64)) / t_hat
            x_next = x + (t_next - t_hat) * d_cur
            if i < n_steps - 1:
                d_next = (x_next - denoiser(x_next.to(latents.dtype), t_next).to(torch.float64)) / t_next
                x_next = x + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_next)
            x = clamp_observed(x_next, _noised_clamp(clamp, latents, t_next))
            if return_all:
                states.append(x.to(latents.dtype))
        return torch.stack(states) if return_all else x.to(latents.dtype)


@register_sampler("stochastic")
def stochastic_heun_sampler(
    denoiser: Denoiser,
    latents: Tensor,
    n_steps: int = 18,
    *,
    churn: float = 40.0,
    s_min: float = 0.05,
    s_max: float = 50.0,
    s_noise: float = 1.003,
    **kwargs: Any,
) -> Tensor:
    """:func:`heun_sampler` with EDM's stochastic settings (:data:`STOCHASTIC_DEFAULTS`)."""
    return heun_sampler(denoiser, latents, n_steps, churn=churn, s_min=s_min, s_max=s_max, s_noise=s_noise, **kwargs)


@register_sampler("denoiser-annealed")
def denoiser_annealed_langevin(
    denoiser: Denoiser,
    x0: Tensor,
    sigmas: Sequence[float] | Tensor | None = None,
    eps: float = 5e-5,
    steps_per_level: int = 10,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
    observed: Tensor | None = None,
    *,
    return_all: bool = False,
    progress: bool = False,
) -> Tensor:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1) on ψ(x, σ) = (D(x, σ) − x)/σ²,
    then x ← D(x, σ_L). Default levels: 10 geometric from 5 to 0.01; step αᵢ = ε·σᵢ²/σ_L². With
    ε = 5·10⁻⁵ each step contracts the distance to the level-σ_L mean by ε/(2σ_L²) = 1/4.
    ``x0`` are the starting points (e.g. σ₁·z). Costs len(sigmas)·steps_per_level + 1 evaluations."""
    levels = geometric_sigmas(5.0, 0.01, 10) if sigmas is None else sigmas

    def score_fn(x: Tensor, sigma: float) -> Tensor:
        return denoiser_score(denoiser, x, sigma)

    with _eval_mode(denoiser):
        return annealed_langevin(
            score_fn,
            levels,
            x0,
            eps,
            steps_per_level,
            generator,
            mask,
            observed,
            final_denoise=True,
            return_all=return_all,
            progress=progress,
        )


class _PointMass:
    """The reconstruction distribution that puts all its mass on the denoiser's output."""

    @staticmethod
    def mean(params: Tensor) -> Tensor:
        return params

    @staticmethod
    def sample(params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return params


class _DenoiserAsDAE(nn.Module):
    """D(·, σ) as a DAE whose reconstruction distribution is the point mass at its output."""

    def __init__(self, denoiser: Denoiser, sigma: float) -> None:
        super().__init__()
        self.denoiser, self.sigma = denoiser, sigma
        self.distribution = _PointMass()

    def forward(self, x_tilde: Tensor) -> Tensor:
        return self.denoiser(x_tilde, self.sigma)


@register_sampler("denoiser-chain")
def denoiser_chain(
    denoiser: Denoiser,
    x0: Tensor,
    sigma: float = 0.5,
    n_steps: int = 30,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
    observed: Tensor | None = None,
    *,
    return_all: bool = False,
    progress: bool = False,
) -> Tensor:
    """The DAE Markov chain (Bengio et al. 2013, Algorithm 1) with the denoiser at the fixed level
    ``sigma``: x̃ = x + σε, x ← D(x̃, σ), ``n_steps`` times from ``x0``."""
    sigma = check_positive(sigma, "sigma")
    with _eval_mode(denoiser):
        return dae_chain(
            _DenoiserAsDAE(denoiser, sigma),
            Gaussian(sigma),
            x0,
            n_steps,
            False,
            generator,
            return_all,
            mask,
            observed,
            progress=progress,
        )


#: The methods of :func:`draw_denoiser_samples` (and ``daekit sample`` for a denoiser).
DENOISER_METHODS = ("ode", "stochastic", "annealed", "chain")


def draw_denoiser_samples(
    denoiser: Denoiser,
    method: str,
    n: int,
    shape: Sequence[int],
    generator: torch.Generator,
    batch_size: int = 500,
    progress: bool = False,
    **options: Any,
) -> Tensor:
    """``n`` samples of shape ``shape`` (C, H, W) from ``denoiser`` with ``method`` (one of
    :data:`DENOISER_METHODS`), drawn in batches of ``batch_size``; ``options`` go to the sampler
    (``n_steps``, ``sigmas``, ``sigma`` …). Starting points: N(0, I) latents for the ODE samplers,
    σ₁·z for annealed Langevin, uniform on [0, 1] for the chain — all from ``generator``."""
    if method not in DENOISER_METHODS:
        raise ValueError(f"method must be one of {list(DENOISER_METHODS)}, got {method!r}")
    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    shape = tuple(int(s) for s in shape)
    parts = []
    bar = tqdm(total=n, desc=f"{method} samples", unit="sample", disable=None if progress else True, leave=False)
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        if method in ("ode", "stochastic"):
            z = torch.randn((m, *shape), generator=generator)
            sampler = heun_sampler if method == "ode" else stochastic_heun_sampler
            parts.append(sampler(denoiser, z, generator=generator, **options))
        elif method == "annealed":
            levels = options.get("sigmas")
            first = float(levels[0]) if levels is not None else 5.0
            x0 = first * torch.randn((m, *shape), generator=generator)
            parts.append(denoiser_annealed_langevin(denoiser, x0, generator=generator, **options))
        else:
            x0 = torch.rand((m, *shape), generator=generator)
            parts.append(denoiser_chain(denoiser, x0, generator=generator, **options))
        bar.update(m)
    bar.close()
    return torch.cat(parts)
