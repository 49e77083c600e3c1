"""Langevin dynamics on a score s(x) ≈ ∇ₓ log p(x).

* :func:`langevin` — unadjusted Langevin dynamics x ← x + (ε/2)·s(x) + √ε·z, z ~ N(0, I)
  (Welling & Teh 2011; Song & Ermon 2019, eq. 4).
* :func:`annealed_langevin` — Langevin dynamics over decreasing noise levels σ₁ > … > σ_L with
  the step αᵢ = ε·σᵢ²/σ_L² at level i (Song & Ermon 2019, Algorithm 1), for a noise-conditional
  score s(x, σ) such as a ``NoiseConditionalScoreNet``.

Any score works: a trained score network, the closed-form score of the tied DAE
(``functools.partial(daekit.score.score, model, sigma=σ)``), the reconstruction score
(r(x) − x)/σ² of any DAE trained with Gaussian noise of level σ
(:func:`daekit.score.reconstruction_score`), or a toy density's exact score.
:func:`as_noise_conditional` turns a score s(x) into s(x, σ) (ignoring σ).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..utils.validation import check_positive, check_positive_int
from ._run import Trajectory, check_output, check_x0, eval_mode
from .clamping import Clamp, clamp_observed, prepare_clamp
from .registry import register_sampler

__all__ = ["langevin", "annealed_langevin", "as_noise_conditional", "ScoreFn", "NoiseConditionalScoreFn"]

ScoreFn = Callable[[Tensor], Tensor]
NoiseConditionalScoreFn = Callable[[Tensor, float], Tensor]


def as_noise_conditional(score_fn: ScoreFn) -> NoiseConditionalScoreFn:
    """Adapter: a score s(x) seen as s(x, σ) that ignores σ (for :func:`annealed_langevin`)."""
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable x -> s(x), got {score_fn!r}")

    def noise_conditional(x: Tensor, sigma: float) -> Tensor:  # noqa: ARG001 - σ ignored by design
        return score_fn(x)

    noise_conditional.__wrapped__ = score_fn  # type: ignore[attr-defined]
    return noise_conditional


def _langevin_steps(
    score: ScoreFn,
    x: Tensor,
    alpha: float,
    n_steps: int,
    generator: torch.Generator | None,
    clamp: Clamp | None,
    traj: Trajectory,
    step0: int,
    last_step: int,
    bar: Any = None,
) -> Tensor:
    half, root = 0.5 * alpha, math.sqrt(alpha)
    for t in range(1, n_steps + 1):
        if bar is not None:
            bar.update(1)
        s = check_output(score(x), x, "score_fn")
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
    x0 = check_x0(x0)
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable x -> s(x), got {score_fn!r}")
    step_size = check_positive(step_size, "step_size")
    n_steps = check_positive_int(n_steps, "n_steps", allow_zero=True)
    clamp = prepare_clamp(x0, mask, observed)
    with torch.no_grad(), eval_mode(score_fn):
        x = clamp_observed(x0.clone(), clamp)
        traj = Trajectory(return_all, every, x)
        with tqdm(total=n_steps, desc="langevin", unit="step", disable=None if progress else True, leave=False) as bar:
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


def _at_level(score_fn: NoiseConditionalScoreFn, sigma: float, x: Tensor) -> Tensor:
    return score_fn(x, sigma)


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
    x0 = check_x0(x0)
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable (x, sigma) -> s(x, sigma), got {score_fn!r}")
    levels = _check_sigmas(sigmas)
    eps = check_positive(eps, "eps")
    steps_per_level = check_positive_int(steps_per_level, "steps_per_level", allow_zero=True)
    clamp = prepare_clamp(x0, mask, observed)
    sigma_last = levels[-1]
    last_step = len(levels) * steps_per_level + (1 if final_denoise else 0)
    with torch.no_grad(), eval_mode(score_fn):
        x = clamp_observed(x0.clone(), clamp)
        traj = Trajectory(return_all, every, x)
        bar = tqdm(
            total=last_step, desc="annealed langevin", unit="step", disable=None if progress else True, leave=False
        )
        for i, sigma in enumerate(levels):
            alpha = eps * sigma**2 / sigma_last**2
            x = _langevin_steps(
                functools.partial(_at_level, score_fn, sigma),
                x,
                alpha,
                steps_per_level,
                generator,
                clamp,
                traj,
                i * steps_per_level,
                last_step,
                bar,
            )
        bar.close()
        if final_denoise:
            s = check_output(score_fn(x, sigma_last), x, "score_fn")
            x = clamp_observed(x + sigma_last**2 * s, clamp)
            traj.add(last_step, x, final=True)
        return traj.result(x)
