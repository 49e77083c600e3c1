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

from __future__ import annotations

import math
from typing import Any, Callable, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .models.dae import DAE
from .models.score_networks import (
    SCORE_ACTIVATIONS,
    NoiseConditionalScoreNet,
    NoiseConditionalScoreNetConfig,
    ScoreNet,
    ScoreNetConfig,
)
from .utils.tensors import per_example
from .utils.validation import check_choice, check_positive, check_positive_int

__all__ = [
    # energy model and DAE scores
    "energy",
    "score",
    "reconstruction_score",
    "dae_score_fn",
    # objectives
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
    # metrics
    "fisher_divergence",
    "relative_fisher_divergence",
    # networks (from daekit.models.score_networks)
    "ScoreNet",
    "ScoreNetConfig",
    "NoiseConditionalScoreNet",
    "NoiseConditionalScoreNetConfig",
    "SCORE_ACTIVATIONS",
]

ScoreFn = Callable[[Tensor], Tensor]
TrueScore = Union[Tensor, ScoreFn]


def _rows(t: Tensor) -> Tensor:
    """View a batch (N, ...) as (N, d)."""
    return t.reshape(t.shape[0], -1)


def _sq_norm(t: Tensor) -> Tensor:
    """Per-example squared norm ‖t‖² of a batch (N, ...), shape (N,)."""
    return _rows(t).square().sum(dim=1)


def _check_x(x: Tensor, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of shape (N, d) or (N, ...), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def _sigma_value(sigma: Any, name: str = "sigma") -> float:
    if isinstance(sigma, Tensor):
        if sigma.numel() != 1:
            raise ValueError(f"{name} must be a scalar here, got shape {tuple(sigma.shape)}")
        sigma = float(sigma)
    return check_positive(sigma, name)


def _randn_like(x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _noise(x: Tensor, noise: Tensor | None, generator: torch.Generator | None) -> Tensor:
    if noise is None:
        return _randn_like(x, generator)
    if not isinstance(noise, Tensor) or noise.shape != x.shape:
        raise ValueError(f"noise must be a tensor shaped like x {tuple(x.shape)}, got "
                         f"{tuple(noise.shape) if isinstance(noise, Tensor) else type(noise).__name__}")
    return noise.to(x)


def _target(true_score: TrueScore, x: Tensor) -> Tensor:
    t = true_score(x) if callable(true_score) else true_score
    if not isinstance(t, Tensor) or t.shape != x.shape:
        raise ValueError(f"true_score must be a tensor shaped like x {tuple(x.shape)} or a callable returning one")
    return t.to(x)


# --------------------------------------------------------------------------- energy model
def _check_energy_model(model: Any) -> DAE:
    if not isinstance(model, DAE):
        raise TypeError(f"model must be a daekit.DAE, got {type(model).__name__}")
    if not model.tied_weights:
        raise ValueError("model must have tied weights (W' = Wᵀ): the energy of Vincent (2011, "
                         "Proposition 2) exists only for the tied DAE")
    if model.config.activation != "sigmoid":
        raise ValueError(f"model must use the sigmoid activation for the energy of Vincent (2011, "
                         f"Proposition 2), got activation={model.config.activation!r}")
    return model


def energy(model: DAE, x: Tensor, sigma: float) -> Tensor:
    """E(x; θ) = −(⟨c, x⟩ − ½‖x‖² + Σᵢ softplus(⟨Wᵢ, x⟩ + bᵢ))/σ², per example (N,).

    The energy of the tied sigmoid DAE (Vincent 2011, Proposition 2); p(x; θ) ∝ exp(−E(x; θ)).
    Its score −∇ₓE is :func:`score`, which equals the DAE's reconstruction score (r(x) − x)/σ²
    when the decoder is linear (``reconstruction="gaussian"``). Raises ``ValueError`` for an
    untied or non-sigmoid DAE.
    """
    model = _check_energy_model(model)
    sigma = _sigma_value(sigma)
    rows = _rows(_check_x(x))
    pre = F.linear(rows, model.W, model.b)
    log_unnorm = rows @ model.c - 0.5 * rows.square().sum(dim=1) + F.softplus(pre).sum(dim=1)
    return -log_unnorm / sigma**2


def score(model: DAE, x: Tensor, sigma: float) -> Tensor:
    """Ψ(x; θ) = −∇ₓE(x; θ) = (Wᵀ sigmoid(Wx + b) + c − x)/σ² (Vincent 2011, Proposition 2).

    Closed form, shaped like ``x``. Raises ``ValueError`` for an untied or non-sigmoid DAE.
    """
    model = _check_energy_model(model)
    sigma = _sigma_value(sigma)
    rows = _rows(_check_x(x))
    h = torch.sigmoid(F.linear(rows, model.W, model.b))
    return ((h @ model.W + model.c - rows) / sigma**2).reshape(x.shape)


def reconstruction_score(model: nn.Module | Callable[[Tensor], Tensor], x: Tensor, sigma: float) -> Tensor:
    """ψ(x) = (r(x) − x)/σ², r the reconstruction mean — the score estimate of any DAE trained
    with Gaussian corruption of level σ (Vincent 2011, §4; Alain & Bengio 2014).

    ``model`` is a DAE (its ``reconstruct`` is used) or any callable x ↦ r(x).
    """
    sigma = _sigma_value(sigma)
    _check_x(x)
    r = model.reconstruct(x) if hasattr(model, "reconstruct") else model(x)
    return (r.reshape(x.shape) - x) / sigma**2


def dae_score_fn(model: DAE, sigma: float, method: str = "energy") -> ScoreFn:
    """The score function x ↦ Ψ(x) of a DAE: ``method="energy"`` uses :func:`score` (tied
    sigmoid DAE), ``"reconstruction"`` uses :func:`reconstruction_score` (any DAE)."""
    check_choice(method, "method", ("energy", "reconstruction"))
    sigma = _sigma_value(sigma)
    if method == "energy":
        _check_energy_model(model)
        return lambda x: score(model, x, sigma)
    return lambda x: reconstruction_score(model, x, sigma)


# --------------------------------------------------------------------------- objectives
def esm_loss(score_fn: ScoreFn, x: Tensor, true_score: TrueScore) -> Tensor:
    """J_ESM = E_q ½‖Ψ(x; θ) − ∇ₓ log q(x)‖² (explicit score matching, Vincent 2011, §3.1).

    ``true_score`` is ∇ log q at ``x`` (a tensor shaped like ``x``) or a callable computing it;
    it is treated as a constant. Returns the batch mean.
    """
    _check_x(x)
    target = _target(true_score, x).detach()
    return 0.5 * _sq_norm(score_fn(x) - target).mean()


def divergence(score_fn: ScoreFn, x: Tensor, method: str = "exact", n_probes: int = 1,
               generator: torch.Generator | None = None, create_graph: bool | None = None) -> tuple[Tensor, Tensor]:
    """The score and its divergence Σᵢ ∂sᵢ/∂xᵢ (the trace of the Jacobian), per example.

    ``method="exact"``: one backward pass per dimension (d passes). ``"hutchinson"``:
    tr J = E_v[vᵀ J v] with ``n_probes`` Rademacher probes v ∈ {−1, 1}ᵈ (Hutchinson 1989), one
    backward pass per probe, unbiased. With ``create_graph`` (default: whether autograd is
    recording) the result can be differentiated again, so J_ISM is trainable.

    Returns ``(s, div)`` with s shaped like ``x`` and div of shape (N,).
    """
    check_choice(method, "trace", ("exact", "hutchinson"))
    n_probes = check_positive_int(n_probes, "n_probes")
    _check_x(x)
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        s = score_fn(xg)
        if s.shape != x.shape:
            raise ValueError(f"score_fn must return a tensor shaped like x {tuple(x.shape)}, got {tuple(s.shape)}")
        s_rows = _rows(s)
        n, d = s_rows.shape
        div = torch.zeros(n, dtype=s.dtype, device=s.device)
        if method == "exact":
            for i in range(d):
                (g,) = torch.autograd.grad(s_rows[:, i].sum(), xg, create_graph=create_graph, retain_graph=True)
                div = div + _rows(g)[:, i]
        else:
            for _ in range(n_probes):
                v = torch.randint(0, 2, (n, d), generator=generator, device=x.device).to(s.dtype) * 2 - 1
                (g,) = torch.autograd.grad((s_rows * v).sum(), xg, create_graph=create_graph, retain_graph=True)
                div = div + (_rows(g) * v).sum(dim=1)
            div = div / n_probes
    if not create_graph:
        s, div = s.detach(), div.detach()
    return s, div


def ism_loss(score_fn: ScoreFn, x: Tensor, trace: str = "exact", n_probes: int = 1,
             generator: torch.Generator | None = None) -> Tensor:
    """J_ISM = E_q [½‖Ψ(x; θ)‖² + Σᵢ ∂Ψᵢ(x; θ)/∂xᵢ] (implicit score matching, Hyvärinen 2005;
    Vincent 2011, §3.2); J_ISM(θ) = J_ESM(θ) − ½E‖∇ log q‖².

    The trace is exact (``trace="exact"``, d backward passes: small d) or Hutchinson's unbiased
    estimate with ``n_probes`` Rademacher probes drawn from ``generator`` (large d). Built with
    ``create_graph=True`` whenever autograd is recording, so the loss is trainable. Returns the
    batch mean.
    """
    s, div = divergence(score_fn, x, trace, n_probes, generator)
    return (0.5 * _sq_norm(s) + div).mean()


def dsm_loss(score_fn: ScoreFn, x: Tensor, sigma: float | Tensor, generator: torch.Generator | None = None,
             noise: Tensor | None = None) -> Tensor:
    """J_DSM = E_{x, x̃} ½‖Ψ(x̃; θ) − ∂ log q_σ(x̃|x)/∂x̃‖², ∂ log q_σ(x̃|x)/∂x̃ = (x − x̃)/σ²,
    with x̃ = x + σε, ε ~ N(0, I) (denoising score matching, Vincent 2011, §4.2).

    ``noise`` supplies ε (shaped like ``x``) so that two objectives can share the draws;
    otherwise it is drawn from ``generator``. ``sigma`` is a positive scalar or one value per
    example (N,). Returns the batch mean.
    """
    _check_x(x)
    eps = _noise(x, noise, generator)
    if isinstance(sigma, Tensor) and sigma.numel() > 1:
        sig = per_example(sigma.to(x).reshape(-1), x)
    else:
        sig = _sigma_value(sigma)
    x_tilde = x + sig * eps
    target = -eps / sig  # = (x − x̃)/σ², without the rounding of x̃ − x
    return 0.5 * _sq_norm(score_fn(x_tilde) - target).mean()


def parzen_score(x_tilde: Tensor, data: Tensor, sigma: float, chunk_size: int = 4096) -> Tensor:
    """∇ log q_σ(x̃) for the Parzen density q_σ(x̃) = (1/n) Σᵢ N(x̃; xᵢ, σ²I) of ``data``
    (Vincent 2011, §4.1): (Σᵢ wᵢ xᵢ − x̃)/σ² with w = softmax(−‖x̃ − xᵢ‖²/2σ²).

    Numerically stable for any σ (an online log-sum-exp over chunks of ``chunk_size`` data
    points, so memory is O(M·chunk_size) for M query points). The per-query constant −‖x̃‖²/2σ²
    cancels in the softmax, so the logits are (⟨x̃, xᵢ⟩ − ½‖xᵢ‖²)/σ². Shaped like ``x_tilde``.
    """
    _check_x(x_tilde, "x_tilde")
    _check_x(data, "data")
    sigma = _sigma_value(sigma)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    q = _rows(x_tilde)
    pts = _rows(data).to(q)
    if pts.shape[1] != q.shape[1]:
        raise ValueError(f"data has {pts.shape[1]} features per example but x_tilde has {q.shape[1]}")
    inv_var = 1.0 / sigma**2
    m = q.new_full((q.shape[0],), -math.inf)
    z = q.new_zeros(q.shape[0])
    acc = torch.zeros_like(q)
    for start in range(0, pts.shape[0], chunk_size):
        c = pts[start:start + chunk_size]
        logits = (q @ c.t() - 0.5 * c.square().sum(dim=1)) * inv_var
        new_m = torch.maximum(m, logits.max(dim=1).values)
        scale = torch.exp(m - new_m)
        p = torch.exp(logits - new_m[:, None])
        z = z * scale + p.sum(dim=1)
        acc = acc * scale[:, None] + p @ c
        m = new_m
    return ((acc / z[:, None] - q) * inv_var).reshape(x_tilde.shape)


def esm_parzen_loss(score_fn: ScoreFn, data: Tensor, sigma: float, x: Tensor | None = None,
                    generator: torch.Generator | None = None, noise: Tensor | None = None,
                    chunk_size: int = 4096) -> Tensor:
    """J_ESM,σ = E_{q_σ(x̃)} ½‖Ψ(x̃; θ) − ∇ log q_σ(x̃)‖² with q_σ the Parzen density of ``data``
    (Vincent 2011, §4.1), estimated with draws x̃ = x + σε, ε ~ N(0, I).

    ``x`` are the points to perturb (default ``data`` itself; any points drawn from the data set
    give draws of q_σ), ``noise`` optionally supplies ε. The target ∇ log q_σ is
    :func:`parzen_score` over all of ``data``. By Proposition 1, J_ESM,σ(θ) − J_DSM(θ) does not
    depend on θ. Returns the mean over draws.
    """
    sigma = _sigma_value(sigma)
    _check_x(data, "data")
    x = data if x is None else _check_x(x)
    eps = _noise(x, noise, generator)
    x_tilde = x + sigma * eps
    with torch.no_grad():
        target = parzen_score(x_tilde, data, sigma, chunk_size)
    return 0.5 * _sq_norm(score_fn(x_tilde) - target).mean()


def dae_loss(model: nn.Module | Callable[[Tensor], Tensor], x: Tensor, sigma: float,
             generator: torch.Generator | None = None, noise: Tensor | None = None) -> Tensor:
    """J_DAE = E_{x, x̃} ‖r(x̃) − x‖² with x̃ = x + σε, ε ~ N(0, I) (Vincent 2011, §2).

    ``model`` is a DAE (its reconstruction mean ``reconstruct``) or any callable x̃ ↦ r(x̃);
    ``noise`` optionally supplies ε. For the tied sigmoid DAE with a linear decoder,
    J_DSM = J_DAE/(2σ⁴) (Proposition 2). Returns the batch mean.
    """
    _check_x(x)
    sigma = _sigma_value(sigma)
    eps = _noise(x, noise, generator)
    x_tilde = x + sigma * eps
    r = model.reconstruct(x_tilde) if hasattr(model, "reconstruct") else model(x_tilde)
    return _sq_norm(r.reshape(x.shape) - x).mean()


def geometric_sigmas(sigma_max: float, sigma_min: float, n: int) -> Tensor:
    """n noise levels from ``sigma_max`` down to ``sigma_min`` in geometric progression
    (Song & Ermon 2019, §4.2), float64."""
    sigma_max, sigma_min = check_positive(sigma_max, "sigma_max"), check_positive(sigma_min, "sigma_min")
    n = check_positive_int(n, "n")
    if sigma_min > sigma_max:
        raise ValueError(f"sigma_min must be <= sigma_max, got {sigma_min} > {sigma_max}")
    if n == 1:
        return torch.tensor([sigma_max], dtype=torch.float64)
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), n, dtype=torch.float64))


def annealed_dsm_loss(score_fn: Callable[[Tensor, Tensor], Tensor], x: Tensor, sigmas: Sequence[float] | Tensor,
                      generator: torch.Generator | None = None, noise: Tensor | None = None,
                      sigma_indices: Tensor | None = None) -> Tensor:
    """The noise-conditional objective of Song & Ermon (2019, eq. 5–6):
    E_σ E_{x, x̃} λ(σ)·½‖s_θ(x̃, σ) − (x − x̃)/σ²‖² with λ(σ) = σ², x̃ = x + σε.

    One σ per example is drawn uniformly from ``sigmas`` (``sigma_indices`` may fix the
    choice), then ε (``noise`` may supply it). ``score_fn(x_tilde, sigma)`` receives the
    per-example levels as a tensor (N,). With λ(σ) = σ² the per-example loss is
    ½‖σ s_θ(x̃, σ) + ε‖². Returns the batch mean.
    """
    _check_x(x)
    levels = torch.as_tensor(sigmas, dtype=x.dtype).reshape(-1).to(x.device)
    if levels.numel() == 0 or not bool((levels > 0).all()) or not bool(torch.isfinite(levels).all()):
        raise ValueError("sigmas must be a non-empty sequence of finite values > 0")
    n = x.shape[0]
    if sigma_indices is None:
        sigma_indices = torch.randint(0, levels.numel(), (n,), generator=generator, device=x.device)
    elif sigma_indices.shape != (n,):
        raise ValueError(f"sigma_indices must have shape ({n},), got {tuple(sigma_indices.shape)}")
    sig = levels[sigma_indices.to(x.device)]
    eps = _noise(x, noise, generator)
    sig_b = per_example(sig, x)
    x_tilde = x + sig_b * eps
    s = score_fn(x_tilde, sig)
    return 0.5 * _sq_norm(sig_b * s + eps).mean()


# --------------------------------------------------------------------------- objectives for fit
SCORE_OBJECTIVES = ("dsm", "ism", "esm", "esm-parzen", "annealed", "dae")


class ScoreObjective:
    """``objective(model, batch, generator) -> loss`` for :func:`daekit.training.loop.fit`.

    ``kind`` is one of :data:`SCORE_OBJECTIVES`; the clean batch is ``batch[0]``:

    * ``"dsm"`` — :func:`dsm_loss` at ``sigma``;
    * ``"ism"`` — :func:`ism_loss` on x̃ = x + σε (on x itself when ``sigma`` is None), so that it
      targets the same q_σ as DSM; ``trace``, ``n_probes`` as in :func:`ism_loss`;
    * ``"esm"`` — :func:`esm_loss` on x̃ = x + σε (x when ``sigma`` is None) against
      ``true_score`` (a callable, e.g. ``GaussianMixture.smoothed(σ).score``);
    * ``"esm-parzen"`` — :func:`esm_parzen_loss` against the Parzen score of ``data``;
    * ``"annealed"`` — :func:`annealed_dsm_loss` over ``sigmas`` (model called as model(x̃, σ));
    * ``"dae"`` — :func:`dae_loss` at ``sigma`` (model: a DAE).
    """

    def __init__(self, kind: str, sigma: float | None = None, *, sigmas: Sequence[float] | Tensor | None = None,
                 true_score: ScoreFn | None = None, data: Tensor | None = None, trace: str = "exact",
                 n_probes: int = 1) -> None:
        self.kind = check_choice(kind, "objective", SCORE_OBJECTIVES)
        self.sigma = None if sigma is None else _sigma_value(sigma)
        if self.sigma is None and kind in ("dsm", "dae", "esm-parzen"):
            raise ValueError(f"objective {kind!r} needs sigma")
        if kind == "annealed":
            if sigmas is None:
                raise ValueError("objective 'annealed' needs sigmas")
            sigmas = torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)
            if sigmas.numel() == 0 or not bool((sigmas > 0).all()):
                raise ValueError("sigmas must be a non-empty sequence of values > 0")
        self.sigmas = sigmas
        if kind == "esm" and not callable(true_score):
            raise ValueError("objective 'esm' needs true_score, a callable x -> ∇ log q(x)")
        self.true_score = true_score
        if kind == "esm-parzen" and data is None:
            raise ValueError("objective 'esm-parzen' needs data (the finite set of the Parzen density)")
        self.data = data
        self.trace = check_choice(trace, "trace", ("exact", "hutchinson"))
        self.n_probes = check_positive_int(n_probes, "n_probes")
        self.needs_grad = kind == "ism"  # evaluation needs autograd for the divergence

    def _perturb(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return x if self.sigma is None else x + self.sigma * _randn_like(x, generator)

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x = batch[0]
        if self.kind == "dsm":
            return dsm_loss(model, x, self.sigma, generator)
        if self.kind == "ism":
            return ism_loss(model, self._perturb(x, generator), self.trace, self.n_probes, generator)
        if self.kind == "esm":
            x_tilde = self._perturb(x, generator)
            return esm_loss(model, x_tilde, self.true_score)
        if self.kind == "esm-parzen":
            return esm_parzen_loss(model, self.data.to(x), self.sigma, x=x, generator=generator)
        if self.kind == "annealed":
            return annealed_dsm_loss(model, x, self.sigmas, generator)
        return dae_loss(model, x, self.sigma, generator)

    def __repr__(self) -> str:
        return f"ScoreObjective(kind={self.kind!r}, sigma={self.sigma!r})"


# --------------------------------------------------------------------------- metrics
def _fisher_terms(score_fn: ScoreFn, true_score: TrueScore, x: Tensor, batch_size: int) -> tuple[float, float]:
    _check_x(x)
    batch_size = check_positive_int(batch_size, "batch_size")
    err = 0.0
    ref = 0.0
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        t = _target(true_score, xb) if callable(true_score) else _target(true_score[start:start + batch_size], xb)
        with torch.no_grad():
            s = score_fn(xb)
        err += float(_sq_norm(s.detach().to(torch.float64) - t.detach().to(torch.float64)).sum())
        ref += float(_sq_norm(t.detach().to(torch.float64)).sum())
    n = x.shape[0]
    return err / n, ref / n


def fisher_divergence(score_fn: ScoreFn, true_score: TrueScore, x: Tensor, batch_size: int = 8192) -> float:
    """F = E_x ‖s(x) − ∇ log q(x)‖², the sample mean over the points ``x`` (which should be
    drawn from q). ``true_score`` is a callable or a tensor shaped like ``x``. The score
    function is called under ``torch.no_grad()`` in batches of ``batch_size``."""
    return _fisher_terms(score_fn, true_score, x, batch_size)[0]


def relative_fisher_divergence(score_fn: ScoreFn, true_score: TrueScore, x: Tensor, batch_size: int = 8192) -> float:
    """E‖s(x) − ∇ log q(x)‖² / E‖∇ log q(x)‖² over the points ``x`` (0 is perfect; s ≡ 0 gives 1)."""
    err, ref = _fisher_terms(score_fn, true_score, x, batch_size)
    if ref == 0.0:
        raise ValueError("the true score is zero at every point of x; the relative Fisher divergence is undefined")
    return err / ref
