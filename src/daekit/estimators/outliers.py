"""``DenoisingAutoencoderOutlierDetector``: novelty and outlier detection by a denoising
autoencoder, with scikit-learn's outlier-detector contract (as ``IsolationForest``)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..distributions import Bernoulli, MixedTypeLikelihood
from ._table_dae import TABLE_DAE_CONSTRAINTS, TableDAEMixin

__all__ = ["SCORES", "DenoisingAutoencoderOutlierDetector"]

SCORES = ("reconstruction", "score_norm", "energy")

# ∫ s(a) da for the hidden activations s whose antiderivative is elementary (energy score)
_ANTIDERIVATIVES = {
    "sigmoid": F.softplus,
    "tanh": lambda a: a + F.softplus(-2 * a) - np.log(2.0),  # log cosh a
    "linear": lambda a: 0.5 * a.square(),
    "relu": lambda a: 0.5 * F.relu(a).square(),
}


class DenoisingAutoencoderOutlierDetector(OutlierMixin, TableDAEMixin):
    """Outlier detection by the reconstruction of an undercomplete denoising autoencoder.

    Trained on (mostly) normal rows, the DAE learns to map corrupted inputs back onto the data's
    manifold; rows it reconstructs badly are unusual. Numeric inputs are standardized with a
    Gaussian reconstruction, unless they all lie in [0, 1] (pixels: Bernoulli cross-entropy);
    categorical DataFrame columns get softmax heads (:class:`~daekit.estimators.tabular.TableEncoder`).

    Parameters
    ----------
    n_components : int or "auto", default "auto"
        Hidden units; "auto" is a quarter of the encoded width, between 2 and 32. A bottleneck
        matters: an overcomplete DAE reconstructs outliers as well as inliers.
    outlier_score : {"reconstruction", "score_norm", "energy"}, default "score_norm"
        What ``score_samples`` negates: the norm of the estimated score ‖ψ(x)‖ = ‖r(x) − x‖/σ²
        (Alain & Bengio 2014; σ² = 1 on standardized inputs), the Euclidean distance from x to its
        reconstruction mean; the reconstruction loss −log p(x | f(x̃)) (on [0, 1] data the
        Bernoulli cross-entropy, which weighs a confidently wrong pixel far above a merely wrong
        one and ranks MNIST's outliers worse: BENCHMARKS.md); or the energy E(x) whose negative gradient is r(x) − x for a tied DAE
        (Kamyshanska & Memisevic 2015: ½‖x − c‖² − Σ_k ∫s(w_kᵀx + b_k) for a Gaussian
        reconstruction, −cᵀx − Σ_k ∫s for a Bernoulli one; the free energy of the matching RBM).
    n_draws : int, default 0
        Average the score over this many corrupted copies x̃ of each row (fixed at fit, the same
        for every row, so scores do not depend on the batch); 0 scores the clean rows.
    corruption : {"masking", "swap", "none"}, default "masking"
        Training corruption, drawn per source column (:class:`~daekit.corruption.SwapNoise` for "swap").
    noise_level : float in [0, 1], default 0.25
    contamination : "auto" or float in (0, 0.5], default "auto"
        Sets ``offset_``: the ``contamination`` quantile of the training scores, or with "auto"
        Tukey's lower fence Q1 − 1.5 (Q3 − Q1) of the training scores.
    activation, tied_weights, max_epochs ("auto": about 3000 updates), batch_size,
    learning_rate (Adam), categorical_features, handle_unknown, random_state, device, verbose
        As for :class:`~daekit.estimators.imputer.DenoisingImputer`.

    Attributes
    ----------
    offset_ : float
        ``decision_function = score_samples − offset_``.
    reconstruction_ : {"bernoulli", "gaussian", "mixed"}
    encoder_ : TableEncoder
    model_ : daekit.models.dae.DAE
    loss_curve_ : list of float
    n_iter_, n_features_in_, feature_names_in_
    """

    _auto_steps = 3000

    _parameter_constraints: ClassVar[dict] = {
        **TABLE_DAE_CONSTRAINTS,
        "outlier_score": [StrOptions(set(SCORES))],
        "n_draws": [Interval(Integral, 0, None, closed="left")],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
    }

    def __init__(
        self,
        n_components="auto",
        outlier_score="score_norm",
        n_draws=0,
        corruption="masking",
        noise_level=0.25,
        contamination="auto",
        activation="sigmoid",
        tied_weights=True,
        max_epochs="auto",
        batch_size=64,
        learning_rate=1e-3,
        categorical_features=None,
        handle_unknown="error",
        random_state=None,
        device="auto",
        verbose=0,
    ):
        self.n_components = n_components
        self.outlier_score = outlier_score
        self.n_draws = n_draws
        self.corruption = corruption
        self.noise_level = noise_level
        self.contamination = contamination
        self.activation = activation
        self.tied_weights = tied_weights
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.categorical_features = categorical_features
        self.handle_unknown = handle_unknown
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    def fit(self, X, y=None):
        """Train on X (rows assumed mostly normal) and set ``offset_`` from the training scores."""
        self._validate_params()
        if self.outlier_score == "energy" and (not self.tied_weights or self.activation not in _ANTIDERIVATIVES):
            raise ValueError(
                "outlier_score='energy' needs tied_weights=True and activation in "
                f"{sorted(_ANTIDERIVATIVES)}, got tied_weights={self.tied_weights!r}, "
                f"activation={self.activation!r}"
            )
        X = self._validate_input(X, reset=True)
        unit = self._unit_interval(X)
        Z, observed = self._fit_table(X, "bernoulli" if unit else "gaussian", scale=not unit)
        self._make_draws(Z)
        scores = self._scores(Z, observed)
        if self.contamination == "auto":
            q1, q3 = np.percentile(scores, [25, 75])
            self.offset_ = float(q1 - 1.5 * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    # -- scoring ---------------------------------------------------------------------------------
    def _make_draws(self, Z: np.ndarray) -> None:
        """Fixed corruption templates (keep, fill): x̃_k = keep_k ⊙ z + (1 − keep_k) ⊙ fill_k."""
        k, d = self.n_draws, Z.shape[1]
        g = torch.Generator().manual_seed(self._seed + 1)
        column_of = self.encoder_.column_of_
        n_cols = int(column_of.max()) + 1
        keep_cols = (torch.rand(k, n_cols, generator=g) >= self.noise_level).numpy()
        if self.corruption == "none":
            keep_cols[:] = True
        fill = np.zeros((k, d), dtype=np.float32)
        if self.corruption == "swap" and k:
            donors = torch.randint(0, len(Z), (k, n_cols), generator=g).numpy()[:, column_of]
            fill = Z[donors, np.arange(d)[None, :]]
        self.draw_keep_ = keep_cols[:, column_of].astype(np.float32)
        self.draw_fill_ = fill.astype(np.float32)

    def _one_score(self, z: torch.Tensor, mask: torch.Tensor, x_in: torch.Tensor) -> torch.Tensor:
        """The outlier score (higher = more unusual) of clean rows ``z`` given input ``x_in``."""
        m = self.model_
        if self.outlier_score == "energy":
            a = torch.nn.functional.linear(x_in, m.W, m.b)
            hidden = _ANTIDERIVATIVES[self.activation](a).sum(dim=1)
            if self.reconstruction_ == "bernoulli":
                return -(x_in * m.c).sum(dim=1) - hidden
            return 0.5 * ((x_in - m.c).square() * mask).sum(dim=1) - hidden
        params = m(x_in)
        if self.outlier_score == "score_norm":
            return ((m.distribution.mean(params) - x_in).square() * mask).sum(dim=1).sqrt()
        cols = self.encoder_.column_of_
        n_cols = int(cols.max()) + 1
        observed = torch.zeros(len(z), n_cols).index_copy_(1, torch.as_tensor(cols), mask) > 0
        # a table DAE reconstructs with a Bernoulli or a MixedTypeLikelihood, never a plain Gaussian
        distribution = cast("type[Bernoulli] | MixedTypeLikelihood", m.distribution)
        return (distribution.columnwise_loss(z, params) * observed).sum(dim=1)

    def _scores(self, Z: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """score_samples of encoded rows: minus the outlier score averaged over the draws."""
        mask_all = self.encoder_.expand(observed).astype(np.float32)
        out = np.empty(len(Z), dtype=np.float64)
        keep, fill = torch.from_numpy(self.draw_keep_), torch.from_numpy(self.draw_fill_)
        with torch.no_grad():
            for a in range(0, len(Z), 2048):
                z = torch.from_numpy(np.ascontiguousarray(Z[a : a + 2048]))
                mask = torch.from_numpy(mask_all[a : a + 2048])
                if self.n_draws == 0:
                    s = self._one_score(z, mask, z)
                else:
                    s = torch.stack(
                        [self._one_score(z, mask, keep[k] * z + (1 - keep[k]) * fill[k]) for k in range(self.n_draws)]
                    ).mean(dim=0)
                out[a : a + 2048] = -s.double().numpy()
        return out

    def score_samples(self, X):
        """Opposite of the outlier score of each row (higher = more normal), as IsolationForest."""
        Z, observed = self._encode(X)
        return self._scores(Z, observed)

    def decision_function(self, X):
        """``score_samples(X) − offset_``: negative for outliers, positive for inliers."""
        check_is_fitted(self, "offset_")
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, −1 for outliers (``decision_function < 0``)."""
        return np.where(self.decision_function(X) < 0, -1, 1)
