"""The Markov chain of the generalized denoising autoencoder (Bengio, Yao, Alain & Vincent 2013,
Algorithm 1): x̃ ~ C(x̃ | x_t), then x_{t+1} ~ P_θ(x | x̃), a draw from the DAE's reconstruction
distribution (Bernoulli or Gaussian). Its stationary distribution estimates the data
distribution when P_θ(x | x̃) is a consistent estimator of the true P(x | x̃) (their Theorem 1),
for any corruption process C.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..utils.validation import check_positive_int
from ._run import Trajectory, check_output, check_x0, eval_mode
from .clamping import clamp_observed, prepare_clamp
from .registry import register_sampler

__all__ = ["dae_chain", "collect_chain_samples"]


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
        Show a progress bar (tqdm) over the steps when the output is a terminal.

    Returns
    -------
    Tensor shaped like ``x0`` (or (T, *x0.shape) with ``return_all``).
    """
    x0 = check_x0(x0)
    n_steps = check_positive_int(n_steps, "n_steps", allow_zero=True)
    distribution = getattr(model, "distribution", None)
    if distribution is None or not (hasattr(distribution, "sample") and hasattr(distribution, "mean")):
        raise TypeError(
            f"model must have a reconstruction distribution .distribution with mean and sample "
            f"(a daekit.DAE), got {type(model).__name__}"
        )
    if not callable(corruption):
        raise TypeError(f"corruption must be callable (x, generator) -> x_tilde, got {corruption!r}")
    clamp = prepare_clamp(x0, mask, observed)
    with torch.no_grad(), eval_mode(model):
        x = clamp_observed(x0.clone(), clamp)
        traj = Trajectory(return_all, every, x)
        out = x
        for t in tqdm(
            range(1, n_steps + 1), desc="chain", unit="step", disable=None if progress else True, leave=False
        ):
            x_tilde = corruption(x, generator)
            params = model(x_tilde)
            mean = distribution.mean(params)
            nxt = distribution.sample(params, generator) if sample else mean
            x = clamp_observed(check_output(nxt, x, "model's reconstruction distribution"), clamp)
            out = clamp_observed(check_output(mean, x, "model's reconstruction mean"), clamp) if return_mean else x
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
    x0 = check_x0(x0)
    n_samples = check_positive_int(n_samples, "n_samples")
    burn_in = check_positive_int(burn_in, "burn_in", allow_zero=True)
    thin = check_positive_int(thin, "thin")
    per_chain = math.ceil(n_samples / x0.shape[0])
    first = max(math.ceil(burn_in / thin), 1)  # frame index of the first kept state (never x0 itself)
    # burn in without keeping states, then keep one state in `thin` (the same draws as one long run)
    x = dae_chain(model, corruption, x0, (first - 1) * thin, sample, generator, progress=progress)
    traj = dae_chain(
        model,
        corruption,
        x,
        per_chain * thin,
        sample,
        generator,
        return_all=True,
        return_mean=return_mean,
        every=thin,
        progress=progress,
    )
    return traj[1:].reshape(-1, *x0.shape[1:])[:n_samples]
