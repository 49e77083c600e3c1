"""Score matching and denoising autoencoders (Vincent 2011; Hyvärinen 2005; Song & Ermon 2019).

With Gaussian corruption x̃ = x + σε, ε ~ N(0, I), a DAE estimates the score of the smoothed
density q_σ(x̃) = ∫ q(x) N(x̃; x, σ²I) dx:

* :func:`energy` / :func:`score` — the tied sigmoid DAE with a linear decoder is the energy model
  E(x; θ) = −(⟨c, x⟩ − ½‖x‖² + Σᵢ softplus(⟨Wᵢ, x⟩ + bᵢ))/σ², whose score is
  Ψ(x; θ) = (Wᵀ sigmoid(Wx + b) + c − x)/σ² (Vincent 2011, Proposition 2).
* :func:`reconstruction_score` — for any DAE, ψ(x) = (r(x) − x)/σ² with r the reconstruction
  mean.
* Objectives, all returning the batch mean of a per-example loss:

  - :func:`esm_loss`   J_ESM = E_q ½‖Ψ(x) − ∇ log q(x)‖²                 (Vincent 2011, §3.1)
  - :func:`ism_loss`   J_ISM = E_q [½‖Ψ(x)‖² + Σᵢ ∂Ψᵢ/∂xᵢ]                (Hyvärinen 2005; §3.2)
  - :func:`dsm_loss`   J_DSM = E ½‖Ψ(x̃) − (x − x̃)/σ²‖²                  (Vincent 2011, §4.2)
  - :func:`esm_parzen_loss`  J_ESM,σ = E_{q_σ(x̃)} ½‖Ψ(x̃) − ∇ log q_σ(x̃)‖² with q_σ the Parzen
    density of a finite data set (Vincent 2011, §4.1), its score from :func:`parzen_score`
  - :func:`dae_loss`   J_DAE = E ‖r(x̃) − x‖²                              (Vincent 2011, §2)
  - :func:`annealed_dsm_loss`  Σ_σ λ(σ) J_DSM,σ with λ(σ) = σ² (Song & Ermon 2019, eq. 5–6)

  Proposition 1: J_ESM,σ(θ) = J_DSM(θ) + const; Proposition 2: J_DSM = J_DAE/(2σ⁴) for the
  tied sigmoid DAE with its energy's score; Hyvärinen: J_ESM(θ) = J_ISM(θ) + const.
* Metrics: :func:`fisher_divergence` E‖s − ∇ log q‖² and :func:`relative_fisher_divergence`.
* :class:`ScoreObjective` turns any of the objectives into an ``objective(model, batch,
  generator)`` for :func:`daekit.training.loop.fit`.

A *score function* is any callable x ↦ s(x) mapping a batch (N, d) — or (N, ...) — to a tensor of
the same shape: a :class:`ScoreNet`, ``functools.partial(score, model, sigma=σ)``,
:func:`dae_score_fn`, or a toy density's exact ``GaussianMixture.score``. Score functions must
treat the examples of a batch independently (J_ISM differentiates through the batch).
"""

from ._checks import ScoreFn, TrueScore
from .energy import dae_score_fn, energy, reconstruction_score, score
from .fisher import fisher_divergence, relative_fisher_divergence
from .matching import (
    SCORE_OBJECTIVES,
    ScoreObjective,
    annealed_dsm_loss,
    dae_loss,
    divergence,
    dsm_loss,
    esm_loss,
    esm_parzen_loss,
    geometric_sigmas,
    ism_loss,
    parzen_score,
)

__all__ = [
    "energy",
    "score",
    "reconstruction_score",
    "dae_score_fn",
    "esm_loss",
    "ism_loss",
    "divergence",
    "dsm_loss",
    "parzen_score",
    "esm_parzen_loss",
    "dae_loss",
    "annealed_dsm_loss",
    "geometric_sigmas",
    "ScoreObjective",
    "SCORE_OBJECTIVES",
    "fisher_divergence",
    "relative_fisher_divergence",
    "ScoreFn",
    "TrueScore",
]
