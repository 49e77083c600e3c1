"""The score-matching objectives ESM, ISM, DSM, Parzen-ESM, J_DAE and annealed DSM (Vincent 2011; Hyvärinen
2005; Song & Ermon 2019), and :class:`ScoreObjective`, which makes any of them an objective of the loop."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import Tensor, nn

from ..utils.tensors import per_example
from ..utils.validation import check_choice, check_positive, check_positive_int
from ._checks import ScoreFn, TrueScore, check_x, noise_like, randn_like, rows, sigma_value, sq_norm, target_score

__all__ = [
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
]


def esm_loss(score_fn: ScoreFn, x: Tensor, true_score: TrueScore) -> Tensor:
    """J_ESM = E_q ½‖Ψ(x; θ) − ∇ₓ log q(x)‖² (explicit score matching, Vincent 2011, §3.1).

    ``true_score`` is ∇ log q at ``x`` (a tensor shaped like ``x``) or a callable computing it;
    it is treated as a constant. Returns the batch mean.
    """
    check_x(x)
    target = target_score(true_score, x).detach()
    return 0.5 * sq_norm(score_fn(x) - target).mean()


def divergence(
    score_fn: ScoreFn,
    x: Tensor,
    method: str = "exact",
    n_probes: int = 1,
    generator: torch.Generator | None = None,
    create_graph: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """The score and its divergence Σᵢ ∂sᵢ/∂xᵢ (the trace of the Jacobian), per example.

    ``method="exact"``: one backward pass per dimension (d passes). ``"hutchinson"``:
    tr J = E_v[vᵀ J v] with ``n_probes`` Rademacher probes v ∈ {−1, 1}ᵈ (Hutchinson 1989), one
    backward pass per probe, unbiased. With ``create_graph`` (default: whether autograd is
    recording) the result can be differentiated again, so J_ISM is trainable.

    Returns ``(s, div)`` with s shaped like ``x`` and div of shape (N,).
    """
    check_choice(method, "trace", ("exact", "hutchinson"))
    n_probes = check_positive_int(n_probes, "n_probes")
    check_x(x)
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        s = score_fn(xg)
        if s.shape != x.shape:
            raise ValueError(f"score_fn must return a tensor shaped like x {tuple(x.shape)}, got {tuple(s.shape)}")
        s_rows = rows(s)
        n, d = s_rows.shape
        div = torch.zeros(n, dtype=s.dtype, device=s.device)
        if method == "exact":
            for i in range(d):
                (g,) = torch.autograd.grad(s_rows[:, i].sum(), xg, create_graph=create_graph, retain_graph=True)
                div = div + rows(g)[:, i]
        else:
            for _ in range(n_probes):
                v = torch.randint(0, 2, (n, d), generator=generator, device=x.device).to(s.dtype) * 2 - 1
                (g,) = torch.autograd.grad((s_rows * v).sum(), xg, create_graph=create_graph, retain_graph=True)
                div = div + (rows(g) * v).sum(dim=1)
            div = div / n_probes
    if not create_graph:
        s, div = s.detach(), div.detach()
    return s, div


def ism_loss(
    score_fn: ScoreFn, x: Tensor, trace: str = "exact", n_probes: int = 1, generator: torch.Generator | None = None
) -> Tensor:
    """J_ISM = E_q [½‖Ψ(x; θ)‖² + Σᵢ ∂Ψᵢ(x; θ)/∂xᵢ] (implicit score matching, Hyvärinen 2005;
    Vincent 2011, §3.2); J_ISM(θ) = J_ESM(θ) − ½E‖∇ log q‖².

    The trace is exact (``trace="exact"``, d backward passes: small d) or Hutchinson's unbiased
    estimate with ``n_probes`` Rademacher probes drawn from ``generator`` (large d). Built with
    ``create_graph=True`` whenever autograd is recording, so the loss is trainable. Returns the
    batch mean.
    """
    s, div = divergence(score_fn, x, trace, n_probes, generator)
    return (0.5 * sq_norm(s) + div).mean()


def dsm_loss(
    score_fn: ScoreFn,
    x: Tensor,
    sigma: float | Tensor,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> Tensor:
    """J_DSM = E_{x, x̃} ½‖Ψ(x̃; θ) − ∂ log q_σ(x̃|x)/∂x̃‖², ∂ log q_σ(x̃|x)/∂x̃ = (x − x̃)/σ²,
    with x̃ = x + σε, ε ~ N(0, I) (denoising score matching, Vincent 2011, §4.2).

    ``noise`` supplies ε (shaped like ``x``) so that two objectives can share the draws;
    otherwise it is drawn from ``generator``. ``sigma`` is a positive scalar or one value per
    example (N,). Returns the batch mean.
    """
    check_x(x)
    eps = noise_like(x, noise, generator)
    sig: Tensor | float
    if isinstance(sigma, Tensor) and sigma.numel() > 1:
        sig = per_example(sigma.to(x).reshape(-1), x)
    else:
        sig = sigma_value(sigma)
    x_tilde = x + sig * eps
    target = -eps / sig  # = (x − x̃)/σ², without the rounding of x̃ − x
    return 0.5 * sq_norm(score_fn(x_tilde) - target).mean()


def parzen_score(x_tilde: Tensor, data: Tensor, sigma: float, chunk_size: int = 4096) -> Tensor:
    """∇ log q_σ(x̃) for the Parzen density q_σ(x̃) = (1/n) Σᵢ N(x̃; xᵢ, σ²I) of ``data``
    (Vincent 2011, §4.1): (Σᵢ wᵢ xᵢ − x̃)/σ² with w = softmax(−‖x̃ − xᵢ‖²/2σ²).

    Numerically stable for any σ (an online log-sum-exp over chunks of ``chunk_size`` data
    points, so memory is O(M·chunk_size) for M query points). The per-query constant −‖x̃‖²/2σ²
    cancels in the softmax, so the logits are (⟨x̃, xᵢ⟩ − ½‖xᵢ‖²)/σ². Shaped like ``x_tilde``.
    """
    check_x(x_tilde, "x_tilde")
    check_x(data, "data")
    sigma = sigma_value(sigma)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    q = rows(x_tilde)
    pts = rows(data).to(q)
    if pts.shape[1] != q.shape[1]:
        raise ValueError(f"data has {pts.shape[1]} features per example but x_tilde has {q.shape[1]}")
    inv_var = 1.0 / sigma**2
    m = q.new_full((q.shape[0],), -math.inf)
    z = q.new_zeros(q.shape[0])
    acc = torch.zeros_like(q)
    for start in range(0, pts.shape[0], chunk_size):
        c = pts[start : start + chunk_size]
        logits = (q @ c.t() - 0.5 * c.square().sum(dim=1)) * inv_var
        new_m = torch.maximum(m, logits.max(dim=1).values)
        scale = torch.exp(m - new_m)
        p = torch.exp(logits - new_m[:, None])
        z = z * scale + p.sum(dim=1)
        acc = acc * scale[:, None] + p @ c
        m = new_m
    return ((acc / z[:, None] - q) * inv_var).reshape(x_tilde.shape)


def esm_parzen_loss(
    score_fn: ScoreFn,
    data: Tensor,
    sigma: float,
    x: Tensor | None = None,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
    chunk_size: int = 4096,
) -> Tensor:
    """J_ESM,σ = E_{q_σ(x̃)} ½‖Ψ(x̃; θ) − ∇ log q_σ(x̃)‖² with q_σ the Parzen density of ``data``
    (Vincent 2011, §4.1), estimated with draws x̃ = x + σε, ε ~ N(0, I).

    ``x`` are the points to perturb (default ``data`` itself; any points drawn from the data set
    give draws of q_σ), ``noise`` optionally supplies ε. The target ∇ log q_σ is
    :func:`parzen_score` over all of ``data``. By Proposition 1, J_ESM,σ(θ) − J_DSM(θ) does not
    depend on θ. Returns the mean over draws.
    """
    sigma = sigma_value(sigma)
    check_x(data, "data")
    x = data if x is None else check_x(x)
    eps = noise_like(x, noise, generator)
    x_tilde = x + sigma * eps
    with torch.no_grad():
        target = parzen_score(x_tilde, data, sigma, chunk_size)
    return 0.5 * sq_norm(score_fn(x_tilde) - target).mean()


def dae_loss(
    model: nn.Module | Callable[[Tensor], Tensor],
    x: Tensor,
    sigma: float,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> Tensor:
    """J_DAE = E_{x, x̃} ‖r(x̃) − x‖² with x̃ = x + σε, ε ~ N(0, I) (Vincent 2011, §2).

    ``model`` is a DAE (its reconstruction mean ``reconstruct``) or any callable x̃ ↦ r(x̃);
    ``noise`` optionally supplies ε. For the tied sigmoid DAE with a linear decoder,
    J_DSM = J_DAE/(2σ⁴) (Proposition 2). Returns the batch mean.
    """
    check_x(x)
    sigma = sigma_value(sigma)
    eps = noise_like(x, noise, generator)
    x_tilde = x + sigma * eps
    if hasattr(model, "reconstruct"):
        r = cast(Callable[[Tensor], Tensor], model.reconstruct)(x_tilde)
    else:
        r = model(x_tilde)
    return sq_norm(r.reshape(x.shape) - x).mean()


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


def annealed_dsm_loss(
    score_fn: Callable[[Tensor, Tensor], Tensor],
    x: Tensor,
    sigmas: Sequence[float] | Tensor,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
    sigma_indices: Tensor | None = None,
) -> Tensor:
    """The noise-conditional objective of Song & Ermon (2019, eq. 5–6):
    E_σ E_{x, x̃} λ(σ)·½‖s_θ(x̃, σ) − (x − x̃)/σ²‖² with λ(σ) = σ², x̃ = x + σε.

    One σ per example is drawn uniformly from ``sigmas`` (``sigma_indices`` may fix the
    choice), then ε (``noise`` may supply it). ``score_fn(x_tilde, sigma)`` receives the
    per-example levels as a tensor (N,). With λ(σ) = σ² the per-example loss is
    ½‖σ s_θ(x̃, σ) + ε‖². Returns the batch mean.
    """
    check_x(x)
    levels = torch.as_tensor(sigmas, dtype=x.dtype).reshape(-1).to(x.device)
    if levels.numel() == 0 or not bool((levels > 0).all()) or not bool(torch.isfinite(levels).all()):
        raise ValueError("sigmas must be a non-empty sequence of finite values > 0")
    n = x.shape[0]
    if sigma_indices is None:
        sigma_indices = torch.randint(0, levels.numel(), (n,), generator=generator, device=x.device)
    elif sigma_indices.shape != (n,):
        raise ValueError(f"sigma_indices must have shape ({n},), got {tuple(sigma_indices.shape)}")
    sig = levels[sigma_indices.to(x.device)]
    eps = noise_like(x, noise, generator)
    sig_b = per_example(sig, x)
    x_tilde = x + sig_b * eps
    s = score_fn(x_tilde, sig)
    return 0.5 * sq_norm(sig_b * s + eps).mean()


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

    def __init__(
        self,
        kind: str,
        sigma: float | None = None,
        *,
        sigmas: Sequence[float] | Tensor | None = None,
        true_score: ScoreFn | None = None,
        data: Tensor | None = None,
        trace: str = "exact",
        n_probes: int = 1,
    ) -> None:
        self.kind = check_choice(kind, "objective", SCORE_OBJECTIVES)
        self.sigma = None if sigma is None else sigma_value(sigma)
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
        return x if self.sigma is None else x + self.sigma * randn_like(x, generator)

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...], generator: torch.Generator) -> Tensor:
        x = batch[0]
        if self.kind == "dsm":
            assert self.sigma is not None, "__init__ requires sigma for 'dsm'"
            return dsm_loss(model, x, self.sigma, generator)
        if self.kind == "ism":
            return ism_loss(model, self._perturb(x, generator), self.trace, self.n_probes, generator)
        if self.kind == "esm":
            x_tilde = self._perturb(x, generator)
            assert self.true_score is not None, "__init__ requires true_score for 'esm'"
            return esm_loss(model, x_tilde, self.true_score)
        if self.kind == "esm-parzen":
            assert self.data is not None and self.sigma is not None, "__init__ requires data and sigma for 'esm-parzen'"
            return esm_parzen_loss(model, self.data.to(x), self.sigma, x=x, generator=generator)
        if self.kind == "annealed":
            assert self.sigmas is not None, "__init__ requires sigmas for 'annealed'"
            return annealed_dsm_loss(model, x, self.sigmas, generator)
        assert self.sigma is not None, "__init__ requires sigma for 'dae'"
        return dae_loss(model, x, self.sigma, generator)

    def __repr__(self) -> str:
        return f"ScoreObjective(kind={self.kind!r}, sigma={self.sigma!r})"
