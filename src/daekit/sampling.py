"""Sampling from denoising autoencoders and score models.

* :func:`dae_chain` — the Markov chain of the generalized denoising autoencoder (Bengio, Yao,
  Alain & Vincent 2013, Algorithm 1): x̃ ~ C(x̃ | x_t), then x_{t+1} ~ P_θ(x | x̃), a draw from
  the DAE's reconstruction distribution (Bernoulli or Gaussian). Its stationary distribution
  estimates the data distribution when P_θ(x | x̃) is a consistent estimator of the true
  P(x | x̃) (their Theorem 1), for any corruption process C.
* :func:`langevin` — unadjusted Langevin dynamics on a score s(x) ≈ ∇ₓ log p(x):
  x ← x + (ε/2)·s(x) + √ε·z, z ~ N(0, I) (Welling & Teh 2011; Song & Ermon 2019, eq. 4).
* :func:`annealed_langevin` — Langevin dynamics over decreasing noise levels σ₁ > … > σ_L with
  the step αᵢ = ε·σᵢ²/σ_L² at level i (Song & Ermon 2019, Algorithm 1), for a noise-conditional
  score s(x, σ) such as a :class:`~daekit.score_networks.NoiseConditionalScoreNet`.

Any score works with the Langevin samplers: a trained score network, the closed-form score of
the tied DAE (``functools.partial(daekit.score.score, model, sigma=σ)``), the reconstruction
score (r(x) − x)/σ² of any DAE trained with Gaussian noise of level σ
(:func:`daekit.score.reconstruction_score`), or a toy density's exact score.
:func:`as_noise_conditional` turns a score s(x) into s(x, σ) (ignoring σ).

Conditional sampling (inpainting): every sampler takes ``mask`` (bool, True = observed, shaped
like ``x0`` or broadcastable to it, e.g. one (d,) mask for all examples) and ``observed`` (the
clamped values; default: those of ``x0``). The observed components are set before the first
step and after every step, so they never move.

Conventions: every random draw comes from ``generator`` (the same seed gives the same samples);
the input ``x0`` is never modified; samplers run under ``torch.no_grad()``, and a model passed
in (or a score function that is an ``nn.Module``) is put in eval mode for the run and given back
in the mode it had. With ``return_all=True`` the samplers return the trajectory stacked on a new
first axis, x0 first (``every`` keeps one state in ``every`` plus the last one).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from tqdm.auto import tqdm

from .utils import check_positive, check_positive_int

__all__ = [
    "dae_chain",
    "collect_chain_samples",
    "langevin",
    "annealed_langevin",
    "as_noise_conditional",
    "clamp_observed",
    "SAMPLERS",
    "register_sampler",
    "get_sampler",
]

ScoreFn = Callable[[Tensor], Tensor]
NoiseConditionalScoreFn = Callable[[Tensor, float], Tensor]

#: Samplers by name (the registry pattern of score-SDE code's ``register_predictor``).
SAMPLERS: dict[str, Callable[..., Tensor]] = {}


def register_sampler(name: str) -> Callable[[Callable[..., Tensor]], Callable[..., Tensor]]:
    """Decorator: add a sampler to :data:`SAMPLERS` under ``name``."""

    def decorator(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        if name in SAMPLERS:
            raise ValueError(f"a sampler named {name!r} is already registered")
        SAMPLERS[name] = fn
        return fn

    return decorator


def get_sampler(name: str) -> Callable[..., Tensor]:
    """The sampler registered as ``name`` (one of :data:`SAMPLERS`)."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}, got {name!r}") from None


# --------------------------------------------------------------------------- helpers
def _check_x0(x0: Any) -> Tensor:
    if not isinstance(x0, Tensor):
        raise TypeError(f"x0 must be a torch.Tensor, got {type(x0).__name__}")
    if x0.dim() < 1 or x0.shape[0] == 0:
        raise ValueError(f"x0 must be a non-empty batch (N, d) or (N, ...), got shape {tuple(x0.shape)}")
    if not x0.is_floating_point():
        raise TypeError(f"x0 must be a floating-point tensor, got {x0.dtype}")
    return x0


def _prepare_clamp(x0: Tensor, mask: Tensor | None, observed: Tensor | None) -> tuple[Tensor, Tensor] | None:
    """Validate ``mask``/``observed`` and broadcast them to ``x0``'s shape (None if no mask)."""
    if mask is None:
        if observed is not None:
            raise ValueError("observed was given without mask; pass mask (bool, True = observed) too")
        return None
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True = observed), got "
                        f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
    try:
        full_mask = torch.broadcast_to(mask.to(x0.device), x0.shape)
    except RuntimeError:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to x0's shape {tuple(x0.shape)}") from None
    if observed is None:
        values = x0
    else:
        values = torch.as_tensor(observed)
        try:
            values = torch.broadcast_to(values.to(device=x0.device, dtype=x0.dtype), x0.shape)
        except RuntimeError:
            raise ValueError(f"observed of shape {tuple(values.shape)} does not broadcast to x0's shape "
                             f"{tuple(x0.shape)}") from None
    return full_mask, values.clone()


def clamp_observed(x: Tensor, clamp: tuple[Tensor, Tensor] | None) -> Tensor:
    """x with the observed components (mask True) replaced by their observed values."""
    if clamp is None:
        return x
    mask, values = clamp
    return torch.where(mask, values, x)


@contextlib.contextmanager
def _eval_mode(*objects: Any) -> Iterator[None]:
    """Put the ``nn.Module`` objects among ``objects`` in eval mode, restore their modes after."""
    modules = [m for m in objects if isinstance(m, nn.Module)]
    states = [[(sub, sub.training) for sub in m.modules()] for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for per_module in states:
            for sub, training in per_module:
                sub.training = training


class _Trajectory:
    """Collects x0, every ``every``-th state and the last state (for ``return_all``)."""

    def __init__(self, enabled: bool, every: int, x0: Tensor) -> None:
        self.enabled, self.every = enabled, check_positive_int(every, "every")
        self.states: list[Tensor] = [x0.clone()] if enabled else []
        self.last_kept = 0

    def add(self, step: int, x: Tensor, final: bool) -> None:
        if self.enabled and (step % self.every == 0 or final) and step != self.last_kept:
            self.states.append(x.clone())
            self.last_kept = step

    def result(self, x: Tensor) -> Tensor:
        return torch.stack(self.states) if self.enabled else x


def _check_shape(out: Tensor, x: Tensor, what: str) -> Tensor:
    if not isinstance(out, Tensor) or out.numel() != x.numel():
        raise ValueError(f"{what} must return a tensor with the shape of x {tuple(x.shape)}, got "
                         f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
    return out.reshape(x.shape).to(x.dtype)


# --------------------------------------------------------------------------- the DAE chain
@register_sampler("chain")
def dae_chain(
    model: nn.Module,
    corruption: Callable[..., Tensor],
    x0: Tensor,
    n_steps: int,
    sample: bool = True,
    generator: torch.Generator | None = None,
    return_all: bool = False,
    mask: Tensor | None = None,
    observed: Tensor | None = None,
    *,
    return_mean: bool = False,
    every: int = 1,
    progress: bool = False,
) -> Tensor:
    """Run the generalized-DAE Markov chain for ``n_steps`` steps (Bengio et al. 2013, Alg. 1).

    Each step draws x̃ ~ C(x̃ | x_t) with ``corruption(x_t, generator)``, computes the parameters
    of P_θ(x | x̃) with ``model(x̃)`` and takes x_{t+1} = ``model.distribution.sample(params,
    generator)`` — or, with ``sample=False``, the mean ``model.distribution.mean(params)``.

    Parameters
    ----------
    model : nn.Module
        A DAE (or any module whose forward maps x̃ (N, d) to the parameters of its
        reconstruction distribution ``model.distribution``, which has ``mean`` and ``sample``).
    corruption : callable (x, generator) -> x̃
        Any corruption process of :mod:`daekit.corruption` (or a callable like them).
    x0 : Tensor (N, d) or (N, ...)
        Starting points of N parallel chains (not modified).
    n_steps : int
        Number of corrupt-reconstruct steps (0 returns x0 with the clamp applied).
    sample : bool
        Draw from P_θ(x | x̃) (True, the chain of the paper) or take its mean (False).
    generator : torch.Generator, optional
        Source of every random draw (corruption and reconstruction).
    return_all : bool
        Return the trajectory (T, N, ...) with x0 first instead of the last state.
    mask, observed : optional
        Conditional sampling: components where ``mask`` is True are clamped to ``observed``
        (default: x0's values) before the first step and after every step.
    return_mean : bool, keyword-only
        Report E_θ[x | x̃] of each step instead of the chain's state (the chain itself still
        moves by draws when ``sample=True``): the "expected value" pictures of Bengio et al.
        (2013, 2014), smoother than binary draws. The first entry of a trajectory is x0.
    every : int, keyword-only
        With ``return_all``, keep one state in ``every`` (and the last).
    progress : bool, keyword-only
        Show a progress bar (tqdm) over the steps when stderr is a terminal.

    Returns
    -------
    Tensor shaped like ``x0`` (or (T, *x0.shape) with ``return_all``).
    """
    x0 = _check_x0(x0)
    n_steps = check_positive_int(n_steps, "n_steps", allow_zero=True)
    distribution = getattr(model, "distribution", None)
    if distribution is None or not (hasattr(distribution, "sample") and hasattr(distribution, "mean")):
        raise TypeError(f"model must have a reconstruction distribution .distribution with mean and sample "
                        f"(a daekit.DAE), got {type(model).__name__}")
    if not callable(corruption):
        raise TypeError(f"corruption must be callable (x, generator) -> x_tilde, got {corruption!r}")
    clamp = _prepare_clamp(x0, mask, observed)
    with torch.no_grad(), _eval_mode(model):
        x = clamp_observed(x0.clone(), clamp)
        traj = _Trajectory(return_all, every, x)
        out = x
        for t in tqdm(range(1, n_steps + 1), desc="chain", unit="step", disable=None if progress else True,
                      leave=False):
            x_tilde = corruption(x, generator)
            params = model(x_tilde)
            mean = distribution.mean(params)
            nxt = distribution.sample(params, generator) if sample else mean
            x = clamp_observed(_check_shape(nxt, x, "model's reconstruction distribution"), clamp)
            out = clamp_observed(_check_shape(mean, x, "model's reconstruction mean"), clamp) if return_mean else x
            traj.add(t, out, final=t == n_steps)
        return traj.result(out)


def collect_chain_samples(
    model: nn.Module,
    corruption: Callable[..., Tensor],
    x0: Tensor,
    n_samples: int,
    burn_in: int = 100,
    thin: int = 1,
    sample: bool = True,
    generator: torch.Generator | None = None,
    *,
    return_mean: bool = False,
    progress: bool = False,
) -> Tensor:
    """``n_samples`` draws from the DAE chain run from the N rows of ``x0`` in parallel: each
    chain runs ``burn_in`` steps (rounded up to a multiple of ``thin``, at least ``thin``), then
    gives one state every ``thin`` steps until ceil(n_samples/N) states per chain are collected.

    Returns (n_samples, ...) ordered step by step (all chains at one step, then the next step).
    With ``return_mean`` the collected values are the reconstruction means E_θ[x | x̃] of those
    steps (see :func:`dae_chain`).
    """
    x0 = _check_x0(x0)
    n_samples = check_positive_int(n_samples, "n_samples")
    burn_in = check_positive_int(burn_in, "burn_in", allow_zero=True)
    thin = check_positive_int(thin, "thin")
    per_chain = math.ceil(n_samples / x0.shape[0])
    first = max(math.ceil(burn_in / thin), 1)  # frame index of the first kept state (never x0 itself)
    # burn in without keeping states, then keep one state in `thin` (the same draws as one long run)
    x = dae_chain(model, corruption, x0, (first - 1) * thin, sample, generator, progress=progress)
    traj = dae_chain(model, corruption, x, per_chain * thin, sample, generator, return_all=True,
                     return_mean=return_mean, every=thin, progress=progress)
    return traj[1:].reshape(-1, *x0.shape[1:])[:n_samples]


# --------------------------------------------------------------------------- Langevin dynamics
def as_noise_conditional(score_fn: ScoreFn) -> NoiseConditionalScoreFn:
    """Adapter: a score s(x) seen as s(x, σ) that ignores σ (for :func:`annealed_langevin`)."""
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable x -> s(x), got {score_fn!r}")

    def noise_conditional(x: Tensor, sigma: float) -> Tensor:  # noqa: ARG001 - σ ignored by design
        return score_fn(x)

    noise_conditional.__wrapped__ = score_fn  # type: ignore[attr-defined]
    return noise_conditional


def _langevin_steps(score: ScoreFn, x: Tensor, alpha: float, n_steps: int, generator: torch.Generator | None,
                    clamp: tuple[Tensor, Tensor] | None, traj: _Trajectory, step0: int, last_step: int,
                    bar: Any = None) -> Tensor:
    half, root = 0.5 * alpha, math.sqrt(alpha)
    for t in range(1, n_steps + 1):
        if bar is not None:
            bar.update(1)
        s = _check_shape(score(x), x, "score_fn")
        z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = clamp_observed(x + half * s + root * z, clamp)
        traj.add(step0 + t, x, final=step0 + t == last_step)
    return x


@register_sampler("langevin")
def langevin(
    score_fn: ScoreFn,
    x0: Tensor,
    step_size: float,
    n_steps: int,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
    observed: Tensor | None = None,
    return_all: bool = False,
    *,
    every: int = 1,
    progress: bool = False,
) -> Tensor:
    """Unadjusted Langevin dynamics x ← x + (ε/2)·s(x) + √ε·z, z ~ N(0, I), ``n_steps`` times
    (Song & Ermon 2019, eq. 4); as ε → 0 and n_steps → ∞ the draws follow p with s = ∇ log p.

    ``score_fn`` maps a batch shaped like ``x0`` to the score at it; ``step_size`` is ε. See
    :func:`dae_chain` for ``mask``/``observed``, ``return_all``, ``every`` and ``progress``. The score is
    called under ``torch.no_grad()`` (wrap it in ``torch.enable_grad()`` if it differentiates).
    """
    x0 = _check_x0(x0)
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable x -> s(x), got {score_fn!r}")
    step_size = check_positive(step_size, "step_size")
    n_steps = check_positive_int(n_steps, "n_steps", allow_zero=True)
    clamp = _prepare_clamp(x0, mask, observed)
    with torch.no_grad(), _eval_mode(score_fn):
        x = clamp_observed(x0.clone(), clamp)
        traj = _Trajectory(return_all, every, x)
        with tqdm(total=n_steps, desc="langevin", unit="step", disable=None if progress else True,
                  leave=False) as bar:
            x = _langevin_steps(score_fn, x, step_size, n_steps, generator, clamp, traj, 0, n_steps, bar)
        return traj.result(x)


def _check_sigmas(sigmas: Sequence[float] | Tensor) -> list[float]:
    try:
        values = [float(s) for s in torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)]
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"sigmas must be a sequence of numbers, got {sigmas!r}") from None
    if not values or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"sigmas must be a non-empty sequence of finite values > 0, got {values}")
    return values


@register_sampler("annealed")
def annealed_langevin(
    score_fn: NoiseConditionalScoreFn,
    sigmas: Sequence[float] | Tensor,
    x0: Tensor,
    eps: float,
    steps_per_level: int,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
    observed: Tensor | None = None,
    final_denoise: bool = False,
    *,
    return_all: bool = False,
    every: int = 1,
    progress: bool = False,
) -> Tensor:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    For each noise level σᵢ of ``sigmas`` in the order given (largest first), ``steps_per_level``
    Langevin steps with step size αᵢ = ε·σᵢ²/σ_L² on the score ``score_fn(x, σᵢ)`` (σᵢ passed
    as a Python float; σ_L = ``sigmas[-1]``). Song & Ermon's MNIST settings: 10 geometric levels
    from 1 to 0.01 (:func:`daekit.score.geometric_sigmas`), ε = 2·10⁻⁵, 100 steps per level, x0
    uniform on [0, 1]ᵈ. With ``final_denoise`` a last step x ← x + σ_L²·s(x, σ_L) returns the
    posterior mean E[x | x̃] (Tweedie's formula; Song & Ermon 2020; Jolicoeur-Martineau et al.
    2021), which removes the residual noise of level σ_L.

    ``score_fn`` of a score that takes x only: :func:`as_noise_conditional`. See
    :func:`dae_chain` for ``mask``/``observed``, ``return_all``, ``every`` and ``progress``.
    """
    x0 = _check_x0(x0)
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable (x, sigma) -> s(x, sigma), got {score_fn!r}")
    levels = _check_sigmas(sigmas)
    eps = check_positive(eps, "eps")
    steps_per_level = check_positive_int(steps_per_level, "steps_per_level", allow_zero=True)
    clamp = _prepare_clamp(x0, mask, observed)
    sigma_last = levels[-1]
    last_step = len(levels) * steps_per_level + (1 if final_denoise else 0)
    with torch.no_grad(), _eval_mode(score_fn):
        x = clamp_observed(x0.clone(), clamp)
        traj = _Trajectory(return_all, every, x)
        bar = tqdm(total=last_step, desc="annealed langevin", unit="step", disable=None if progress else True,
                   leave=False)
        for i, sigma in enumerate(levels):
            alpha = eps * sigma**2 / sigma_last**2
            x = _langevin_steps(lambda v, s=sigma: score_fn(v, s), x, alpha, steps_per_level, generator, clamp,
                                traj, i * steps_per_level, last_step, bar)
        bar.close()
        if final_denoise:
            s = _check_shape(score_fn(x, sigma_last), x, "score_fn")
            x = clamp_observed(x + sigma_last**2 * s, clamp)
            traj.add(last_step, x, final=True)
        return traj.result(x)
