"""Toy densities with exact scores: Gaussian mixtures in any dimension.

A :class:`GaussianMixture` q(x) = Σ_k w_k N(x; μ_k, Σ_k) knows its log-density, its exact score
∇ log q(x) = Σ_k r_k(x) Σ_k⁻¹ (μ_k − x) (responsibilities r_k(x) ∝ w_k N(x; μ_k, Σ_k), computed
with logsumexp, no autograd) and its Gaussian smoothing q_σ = q * N(0, σ²I), which is again a
mixture with covariances Σ_k + σ²I. q_σ is the density of x̃ = x + σε that denoising score
matching targets (Vincent 2011, §4), so these mixtures give exact answers for the score-matching
objectives of :mod:`daekit.score`.

Components are isotropic (``stds`` a scalar or one std per component), diagonal (``stds`` of
shape (K, d)) or full (``covs`` of shape (K, d, d)). Computations run in float64; results come
back in the dtype of the input (``sample`` in ``dtype``, default ``torch.get_default_dtype()``).

Presets (:func:`make_toy`, scaled to lie within about [−4, 4]²):

``"8gaussians"``
    8 isotropic components, equal weights, centred on the circle of radius 2 at angles
    2πk/8, std 0.02 — the ring of Metz et al. (2017, *Unrolled GANs*), also used by
    WGAN-GP (Gulrajani et al. 2017) up to a global scale.
``"25gaussians"``
    25 isotropic components, equal weights, on the 5×5 grid {−4, −2, 0, 2, 4}², std 0.05 —
    the grid of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018).
``"two-moons-gmm"``
    32 isotropic components (16 per moon), equal weights, std 0.1, centred evenly along the two
    half circles of scikit-learn's ``make_moons`` (radius 1, the second moon shifted by (1, −0.5)),
    then centred at the origin and scaled by 2 (so within about [−3, 3] × [−1.5, 1.5]).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..utils.validation import check_positive, check_positive_int

__all__ = ["GaussianMixture", "make_toy", "TOY_DENSITIES"]

_F64 = torch.float64


def _as_f64(value, name: str) -> Tensor:
    try:
        t = torch.as_tensor(value, dtype=_F64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a number, array or tensor, got {type(value).__name__}") from None
    t = t.detach().cpu().clone()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")
    return t


class GaussianMixture:
    """q(x) = Σ_k w_k N(x; μ_k, Σ_k) in d dimensions, with exact log-density and score.

    Parameters
    ----------
    means : array-like (K, d)
        Component means μ_k.
    stds : float, array-like (K,) or (K, d), optional
        Standard deviations: one for all components, one per (isotropic) component, or one per
        component and coordinate (diagonal covariance). Give ``stds`` or ``covs``.
    covs : array-like (K, d, d) or (d, d), optional
        Full covariance matrices Σ_k (symmetric positive definite).
    weights : array-like (K,), optional
        Mixture weights w_k (non-negative, normalized here); uniform by default.
    """

    def __init__(self, means, stds=None, covs=None, weights=None) -> None:
        means = _as_f64(means, "means")
        if means.dim() == 1:
            means = means.reshape(1, -1)
        if means.dim() != 2 or means.shape[0] == 0 or means.shape[1] == 0:
            raise ValueError(f"means must have shape (K, d) with K, d >= 1, got {tuple(means.shape)}")
        k, d = means.shape
        if (stds is None) == (covs is None):
            raise ValueError("give exactly one of stds (isotropic or diagonal) and covs (full covariance)")
        self.means = means
        self._var: Tensor | None = None  # (K, d) diagonal variances
        self._cov: Tensor | None = None  # (K, d, d) full covariances
        if stds is not None:
            s = _as_f64(stds, "stds")
            if s.dim() == 0:
                s = s.expand(k)
            if s.dim() == 1:
                if s.shape[0] != k:
                    raise ValueError(
                        f"stds must be a scalar, (K,) = ({k},) or (K, d) = ({k}, {d}), got {tuple(s.shape)}"
                    )
                s = s.reshape(k, 1).expand(k, d)
            if tuple(s.shape) != (k, d):
                raise ValueError(f"stds must be a scalar, (K,) = ({k},) or (K, d) = ({k}, {d}), got {tuple(s.shape)}")
            if (s <= 0).any():
                raise ValueError("stds must be > 0")
            self._var = (s * s).contiguous()
        else:
            c = _as_f64(covs, "covs")
            if c.dim() == 2:
                c = c.expand(k, d, d)
            if tuple(c.shape) != (k, d, d):
                raise ValueError(f"covs must have shape (K, d, d) = ({k}, {d}, {d}) or (d, d), got {tuple(c.shape)}")
            if not torch.allclose(c, c.transpose(1, 2), rtol=1e-10, atol=1e-12):
                raise ValueError("covs must be symmetric")
            c = 0.5 * (c + c.transpose(1, 2))
            chol, info = torch.linalg.cholesky_ex(c)
            if (info != 0).any():
                raise ValueError("covs must be positive definite")
            self._cov = c.contiguous()
            self._chol = chol
        if weights is None:
            w = torch.full((k,), 1.0 / k, dtype=_F64)
        else:
            w = _as_f64(weights, "weights").reshape(-1)
            if w.shape[0] != k:
                raise ValueError(f"weights must have shape (K,) = ({k},), got {tuple(w.shape)}")
            if (w < 0).any() or w.sum() <= 0:
                raise ValueError("weights must be non-negative and not all zero")
            w = w / w.sum()
        self.weights = w

    # ------------------------------------------------------------------ properties
    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def covariance_type(self) -> str:
        """ "diag" (isotropic or diagonal components) or "full"."""
        return "diag" if self._var is not None else "full"

    @property
    def covs(self) -> Tensor:
        """The component covariances Σ_k as a (K, d, d) float64 tensor."""
        if self._cov is not None:
            return self._cov.clone()
        assert self._var is not None  # exactly one of _var and _cov is set
        return torch.diag_embed(self._var)

    def __repr__(self) -> str:
        return f"GaussianMixture(n_components={self.n_components}, dim={self.dim}, covariance_type={self.covariance_type!r})"

    # ------------------------------------------------------------------ core maths
    def _rows(self, x: Tensor) -> Tensor:
        """``x`` as a float64 (N, d) tensor (differentiable: autograd flows back to ``x``)."""
        if not isinstance(x, Tensor):
            x = torch.as_tensor(x)
        if x.dim() == 1:
            x = x.reshape(1, -1)
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}), got {tuple(x.shape)}")
        return x.to(_F64)

    def _component_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """log(w_k N(x; μ_k, Σ_k)) (N, K) and the component scores Σ_k⁻¹(μ_k − x) (N, K, d)."""
        dev = x.device
        means = self.means.to(dev)
        diff = x[:, None, :] - means[None, :, :]  # (N, K, d)
        d = self.dim
        if self._var is not None:
            var = self._var.to(dev)
            maha = (diff * diff / var[None]).sum(-1)
            logdet = torch.log(var).sum(-1)  # (K,)
            comp_score = -diff / var[None]
        else:
            chol = self._chol.to(dev)
            z = torch.linalg.solve_triangular(chol, diff.permute(1, 2, 0), upper=False)  # L z = diff, (K, d, N)
            maha = (z * z).sum(1).t()  # (N, K)
            logdet = 2.0 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(-1)
            sol = torch.linalg.solve_triangular(chol.transpose(1, 2), z, upper=True)  # Σ⁻¹ diff = L⁻ᵀ z
            comp_score = -sol.permute(2, 0, 1)
        log_w = torch.log(self.weights.to(dev))
        log_comp = log_w[None] - 0.5 * (maha + logdet[None] + d * math.log(2 * math.pi))
        return log_comp, comp_score

    def log_prob(self, x: Tensor) -> Tensor:
        """log q(x) = logsumexp_k [log w_k + log N(x; μ_k, Σ_k)], shape (N,)."""
        rows = self._rows(x)
        log_comp, _ = self._component_terms(rows)
        return torch.logsumexp(log_comp, dim=1).to(dtype=_out_dtype(x), device=_device(x))

    def prob(self, x: Tensor) -> Tensor:
        """q(x), shape (N,)."""
        return self.log_prob(x).exp()

    def responsibilities(self, x: Tensor) -> Tensor:
        """Posterior component probabilities r_k(x) = softmax_k(log w_k N(x; μ_k, Σ_k)), (N, K)."""
        rows = self._rows(x)
        log_comp, _ = self._component_terms(rows)
        return torch.softmax(log_comp, dim=1).to(dtype=_out_dtype(x), device=_device(x))

    def score(self, x: Tensor) -> Tensor:
        """The exact score ∇ₓ log q(x) = Σ_k r_k(x) Σ_k⁻¹ (μ_k − x), shape (N, d), in closed form."""
        rows = self._rows(x)
        log_comp, comp_score = self._component_terms(rows)
        r = torch.softmax(log_comp, dim=1)
        s = (r[:, :, None] * comp_score).sum(1)
        return s.to(dtype=_out_dtype(x), device=_device(x)).reshape(x.shape if isinstance(x, Tensor) else s.shape)

    def sample(self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype | None = None) -> Tensor:
        """n i.i.d. draws, shape (n, d): a component k ~ w, then μ_k + Σ_k^{1/2} ε (CPU generator)."""
        n = check_positive_int(n, "n", allow_zero=True)
        dtype = dtype or torch.get_default_dtype()
        comp = (
            torch.multinomial(self.weights, n, replacement=True, generator=generator)
            if n
            else torch.zeros(0, dtype=torch.long)
        )
        eps = torch.randn((n, self.dim), generator=generator, dtype=_F64)
        if self._var is not None:
            x = self.means[comp] + eps * self._var[comp].sqrt()
        else:
            x = self.means[comp] + torch.einsum("nij,nj->ni", self._chol[comp], eps)
        return x.to(dtype)

    def smoothed(self, sigma: float) -> GaussianMixture:
        """q_σ = q * N(0, σ²I): the same mixture with covariances Σ_k + σ²I (Vincent 2011, §4)."""
        sigma = check_positive(sigma, "sigma", allow_zero=True)
        if self._var is not None:
            return GaussianMixture(self.means, stds=(self._var + sigma**2).sqrt(), weights=self.weights)
        eye = torch.eye(self.dim, dtype=_F64)
        assert self._cov is not None  # exactly one of _var and _cov is set
        return GaussianMixture(self.means, covs=self._cov + sigma**2 * eye, weights=self.weights)

    def mean(self) -> Tensor:
        """E[x] = Σ_k w_k μ_k (float64)."""
        return self.weights @ self.means

    def covariance(self) -> Tensor:
        """Cov[x] = Σ_k w_k (Σ_k + μ_k μ_kᵀ) − E[x]E[x]ᵀ (float64)."""
        m = self.mean()
        second = (self.weights[:, None, None] * (self.covs + self.means[:, :, None] * self.means[:, None, :])).sum(0)
        return second - m[:, None] * m[None, :]


def _out_dtype(x) -> torch.dtype:
    if isinstance(x, Tensor) and x.is_floating_point():
        return x.dtype
    return torch.get_default_dtype()


def _device(x) -> torch.device:
    return x.device if isinstance(x, Tensor) else torch.device("cpu")


# ---------------------------------------------------------------------- presets
def _eight_gaussians(std: float | None) -> GaussianMixture:
    angles = torch.arange(8, dtype=_F64) * (2 * math.pi / 8)
    means = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(means, stds=0.02 if std is None else std)


def _twenty_five_gaussians(std: float | None) -> GaussianMixture:
    grid = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=_F64)
    means = torch.cartesian_prod(grid, grid)
    return GaussianMixture(means, stds=0.05 if std is None else std)


def _two_moons(std: float | None, per_moon: int = 16) -> GaussianMixture:
    t = torch.linspace(0.0, math.pi, per_moon, dtype=_F64)
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1.0 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    means = torch.cat([upper, lower]) - torch.tensor([0.5, 0.25], dtype=_F64)
    return GaussianMixture(2.0 * means, stds=0.1 if std is None else std)


TOY_DENSITIES = {
    "8gaussians": _eight_gaussians,
    "25gaussians": _twenty_five_gaussians,
    "two-moons-gmm": _two_moons,
}


def make_toy(name: str, std: float | None = None) -> GaussianMixture:
    """The preset toy density called ``name`` (see the module docstring); ``std`` overrides the
    components' standard deviation."""
    if name not in TOY_DENSITIES:
        raise ValueError(f"toy density must be one of {sorted(TOY_DENSITIES)}, got {name!r}")
    if std is not None:
        std = check_positive(std, "std")
    return TOY_DENSITIES[name](std)
