"""Which sampler fits which model: :func:`sampler_for` builds a :class:`SamplerPlan`.

* a DAE (a model with a reconstruction distribution) → the DAE chain (Bengio et al. 2013,
  Algorithm 1) with its training corruption, or Langevin dynamics on its reconstruction score
  (r(x) − x)/σ², which needs the Gaussian noise level σ it was trained with (Alain & Bengio 2014);
* a single-level ``ScoreNet`` → Langevin dynamics on s(x);
* a ``NoiseConditionalScoreNet`` → annealed Langevin dynamics over its noise levels (Song &
  Ermon 2019, Algorithm 1), or Langevin dynamics on s(x, σ) at one level σ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..utils.validation import check_positive_int
from .chain import collect_chain_samples, dae_chain
from .langevin import annealed_langevin, langevin

__all__ = ["METHODS", "SamplerPlan", "sampler_for", "n_features"]

#: The choices of ``method`` (``"auto"`` picks by the model).
METHODS = ("auto", "chain", "langevin", "annealed", "ode", "stochastic")  # the last two: denoisers (sampling.edm)

#: Song & Ermon's (2019) annealing defaults: 10 geometric levels from 1 to 0.01.
DEFAULT_SIGMAS = (1.0, 0.01, 10)


def n_features(model: nn.Module) -> int:
    """The input dimension d of a DAE (``config.n_visible``) or a score network (``config.n_features``)."""
    cfg = getattr(model, "config", None)
    d = getattr(cfg, "n_visible", None) or getattr(cfg, "n_features", None)
    if d is None:
        raise TypeError(f"model must be a daekit DAE or score network with a config, got {type(model).__name__}")
    return int(d)


@dataclass(frozen=True)
class SamplerPlan:
    """A sampler bound to a model and its settings.

    ``draw(x0, generator, return_all=False, every=1)`` runs it from the batch ``x0``;
    ``collect(n, start, generator, ...)`` gathers ``n`` draws; ``description`` says in one line
    what it does, ``total_steps`` how many steps one run takes.
    """

    method: str
    description: str
    total_steps: int
    _draw: Callable[..., Tensor] = field(repr=False)
    _chain: tuple[nn.Module, Any, bool, bool, bool] | None = field(default=None, repr=False)

    def draw(
        self, x0: Tensor, generator: torch.Generator | None = None, return_all: bool = False, every: int = 1
    ) -> Tensor:
        """One run from ``x0`` (its last state, or the trajectory with ``return_all``)."""
        return self._draw(x0, generator, return_all, every)

    def collect(
        self,
        n: int,
        start: Callable[[int, torch.Generator | None], Tensor],
        generator: torch.Generator | None = None,
        *,
        chains: int = 10000,
        burn_in: int = 50,
        thin: int = 1,
        batch_size: int = 1000,
    ) -> tuple[Tensor, str]:
        """``n`` draws and a sentence saying what they are.

        The DAE chain runs min(``chains``, n) parallel chains from ``start(chains, generator)``
        and keeps one state every ``thin`` steps after ``burn_in`` (:func:`collect_chain_samples`);
        the Langevin samplers run independent batches of at most ``batch_size`` from ``start``.
        """
        n = check_positive_int(n, "n")
        batch_size = check_positive_int(batch_size, "batch_size")
        if self._chain is not None:
            model, corruption, sample, report_mean, progress = self._chain
            n_chains = min(check_positive_int(chains, "chains"), n)
            samples = collect_chain_samples(
                model,
                corruption,
                start(n_chains, generator),
                n,
                burn_in=burn_in,
                thin=thin,
                sample=sample,
                generator=generator,
                return_mean=report_mean,
                progress=progress,
            )
            what = "E[x | x~] of the kept steps" if report_mean else "the kept states"
            return samples, (
                f"DAE chain, corruption {corruption.spec}: {n_chains} parallel chains, burn-in "
                f"{burn_in}, one state every {thin} step(s); reporting {what}"
            )
        parts = [self.draw(start(min(batch_size, n - s), generator), generator) for s in range(0, n, batch_size)]
        return torch.cat(parts), self.description


def sampler_for(
    model: nn.Module,
    method: str = "auto",
    *,
    corruption: Any = None,
    steps: int | None = None,
    sample: bool = True,
    report_mean: bool = True,
    sigma: float | None = None,
    step_size: float | None = None,
    sigmas: Sequence[float] | None = None,
    eps: float = 2e-5,
    final_denoise: bool = False,
    progress: bool = False,
) -> SamplerPlan:
    """The sampler that fits ``model`` (see the module docstring), as a :class:`SamplerPlan`.

    Parameters
    ----------
    method : ``"auto"``, ``"chain"``, ``"langevin"`` or ``"annealed"``
        ``"auto"``: the chain for a DAE, Langevin for a ``ScoreNet``, annealed Langevin for a
        ``NoiseConditionalScoreNet``.
    corruption : Corruption or spec string, optional
        The chain's corruption C(x̃ | x) (required for ``"chain"``); for Langevin on a DAE, a
        Gaussian corruption gives the noise level σ of its reconstruction score.
    steps : int, optional
        Chain steps (default 100), Langevin steps (1000) or annealed steps per level (100).
    sample, report_mean : bool
        Chain only: move by draws of P_θ(x | x̃) (else by its mean); report E_θ[x | x̃] of each
        step (else the state). See :func:`dae_chain`.
    sigma : float, optional
        Langevin: the noise level of the score (a DAE's Gaussian σ, a ``ScoreNet``'s training
        σ, the level of a ``NoiseConditionalScoreNet``, default its smallest).
    step_size : float, optional
        Langevin's ε (default 0.2·σ²).
    sigmas : sequence of float, optional
        Annealed: the levels, largest first (default the model's training levels if passed,
        else 10 geometric levels from 1 to 0.01).
    eps, final_denoise :
        Annealed: ε of Algorithm 1 and the last Tweedie denoising step (:func:`annealed_langevin`).
    progress : bool
        Progress bars (on a terminal only).

    Raises ValueError, naming the parameter, when the method does not fit the model.
    """
    from ..corruption import Gaussian, make_corruption
    from ..models.dae import DAE
    from ..models.score_networks import NoiseConditionalScoreNet, ScoreNet
    from ..score import geometric_sigmas, reconstruction_score

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    kind = type(model).__name__
    if method == "auto":
        if isinstance(model, NoiseConditionalScoreNet):
            method = "annealed"
        elif isinstance(model, ScoreNet):
            method = "langevin"
        elif isinstance(model, DAE):
            method = "chain"
        else:
            raise ValueError(f"no sampler for a {kind} model; choose a method of {METHODS[1:]}")
    if isinstance(corruption, str):
        corruption = make_corruption(corruption)

    if method == "chain":
        if not hasattr(model, "distribution"):
            raise ValueError(f"method 'chain' needs a DAE (a model with a reconstruction distribution), got a {kind}")
        if corruption is None:
            raise ValueError("method 'chain' needs the corruption of the chain, e.g. corruption='saltpepper:0.3'")
        n_steps = check_positive_int(steps or 100, "steps")
        chain_corruption = corruption

        def draw_chain(x0: Tensor, generator: Any, return_all: bool = False, every: int = 1) -> Tensor:
            return dae_chain(
                model,
                chain_corruption,
                x0,
                n_steps,
                sample,
                generator,
                return_all,
                return_mean=report_mean,
                every=every,
                progress=progress,
            )

        return SamplerPlan(
            "chain",
            f"DAE chain, {n_steps} steps, corruption {corruption.spec}, moving by "
            f"{'draws' if sample else 'means'}, reporting {'E[x | x~]' if report_mean else 'the state'}",
            n_steps,
            draw_chain,
            (model, corruption, sample, report_mean, progress),
        )

    if method == "langevin":
        score_fn: Callable[[Tensor], Tensor]
        if isinstance(model, DAE):
            if sigma is None and isinstance(corruption, Gaussian):
                sigma = corruption.sigma
            if sigma is None:
                raise ValueError(
                    f"Langevin on a DAE uses its score (r(x) - x)/sigma^2, which needs Gaussian training "
                    f"noise; the corruption is {getattr(corruption, 'spec', corruption)!r}: give sigma "
                    "to use it anyway"
                )
            dae_sigma = float(sigma)
            score_fn = lambda x: reconstruction_score(model, x, dae_sigma)  # noqa: E731
        elif isinstance(model, NoiseConditionalScoreNet):
            if sigma is None:
                sigma = float(min(sigmas)) if sigmas else 0.01
            score_fn = model.at(sigma)
        elif isinstance(model, ScoreNet):
            score_fn = model
            if sigma is None and step_size is None:
                raise ValueError("Langevin on a ScoreNet needs the noise level sigma of its training or a step_size")
        else:
            raise ValueError(f"method 'langevin' needs a DAE or a score network, got a {kind}")
        step = step_size or 0.2 * float(sigma) ** 2  # type: ignore[arg-type]
        n_steps = check_positive_int(steps or 1000, "steps")

        def draw_langevin(x0: Tensor, generator: Any, return_all: bool = False, every: int = 1) -> Tensor:
            return langevin(
                score_fn, x0, step, n_steps, generator, return_all=return_all, every=every, progress=progress
            )

        return SamplerPlan(
            "langevin",
            f"Langevin, {n_steps} steps of size {step:.3g}"
            + (f" on the score at sigma={float(sigma):g}" if sigma is not None else ""),
            n_steps,
            draw_langevin,
        )

    if not isinstance(model, NoiseConditionalScoreNet):
        raise ValueError(
            f"method 'annealed' needs a noise-conditional score model (NoiseConditionalScoreNet), "
            f"got a {kind}: use method 'chain' or 'langevin'"
        )
    levels = [float(s) for s in sigmas] if sigmas else geometric_sigmas(*DEFAULT_SIGMAS).tolist()
    n_steps = check_positive_int(steps or 100, "steps")
    total = len(levels) * n_steps + (1 if final_denoise else 0)

    def draw_annealed(x0: Tensor, generator: Any, return_all: bool = False, every: int = 1) -> Tensor:
        return annealed_langevin(
            model,
            levels,
            x0,
            eps,
            n_steps,
            generator,
            final_denoise=final_denoise,
            return_all=return_all,
            every=every,
            progress=progress,
        )

    return SamplerPlan(
        "annealed",
        f"annealed Langevin, {len(levels)} levels {levels[0]:g}..{levels[-1]:g}, "
        f"{n_steps} steps per level, eps={eps:g}" + (", final denoising step" if final_denoise else ""),
        total,
        draw_annealed,
    )
