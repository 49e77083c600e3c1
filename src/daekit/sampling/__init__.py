"""Sampling from denoising autoencoders and score models.

* :mod:`~daekit.sampling.chain` — the generalized-DAE Markov chain (Bengio, Yao, Alain &
  Vincent 2013, Algorithm 1): :func:`dae_chain`, :func:`collect_chain_samples`.
* :mod:`~daekit.sampling.langevin` — Langevin and annealed Langevin dynamics on a score (Song &
  Ermon 2019, eq. 4 and Algorithm 1): :func:`langevin`, :func:`annealed_langevin`,
  :func:`as_noise_conditional`.
* :mod:`~daekit.sampling.clamping` — conditional sampling (inpainting): ``mask``/``observed``.
* :mod:`~daekit.sampling.select` — :func:`sampler_for`: which sampler fits which model.
* :mod:`~daekit.sampling.registry` — samplers by name: :func:`register_sampler`, :func:`get_sampler`.

Conventions: every random draw comes from ``generator`` (the same seed gives the same samples);
the input ``x0`` is never modified; samplers run under ``torch.no_grad()``, and a model passed
in (or a score function that is an ``nn.Module``) is put in eval mode for the run and given back
in the mode it had. With ``return_all=True`` the samplers return the trajectory stacked on a new
first axis, x0 first (``every`` keeps one state in ``every`` plus the last one).
"""

from . import edm  # noqa: F401  (registers the denoiser samplers: ode, stochastic, ...)
from .chain import collect_chain_samples, dae_chain
from .clamping import clamp_observed, prepare_clamp
from .langevin import NoiseConditionalScoreFn, ScoreFn, annealed_langevin, as_noise_conditional, langevin
from .registry import SAMPLERS, get_sampler, register_sampler
from .select import METHODS, SamplerPlan, n_features, sampler_for
from .start import INITS, starting_points

__all__ = [
    "dae_chain",
    "collect_chain_samples",
    "langevin",
    "annealed_langevin",
    "as_noise_conditional",
    "ScoreFn",
    "NoiseConditionalScoreFn",
    "clamp_observed",
    "prepare_clamp",
    "SAMPLERS",
    "register_sampler",
    "get_sampler",
    "METHODS",
    "SamplerPlan",
    "sampler_for",
    "n_features",
    "INITS",
    "starting_points",
]
