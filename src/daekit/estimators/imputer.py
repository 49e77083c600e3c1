"""``DenoisingImputer``: missing-value imputation by a denoising autoencoder trained on the observed
entries only, with scikit-learn's imputer contract (as ``KNNImputer``)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.impute import MissingIndicator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._columns import ColumnCorruption
from ._table_dae import TABLE_DAE_CONSTRAINTS, TableDAEMixin
from .tabular import is_dataframe

__all__ = ["DenoisingImputer"]


class DenoisingImputer(TransformerMixin, TableDAEMixin):
    """Fill missing entries from the reconstruction of a denoising autoencoder.

    The DAE is trained only on observed entries: the missing ones are left out of the loss and
    enter the encoder as 0, like the extra masking noise drawn on the observed ones (MIDAS, Lall
    & Robinson 2022; Gondara & Wang 2018). ``transform`` starts from the missing entries at 0
    (the column mean after standardization) and refills them from the reconstruction mean
    ``max_iter`` times; observed entries are returned unchanged, bit for bit. Categorical
    DataFrame columns get softmax heads and are filled with their most probable category.

    Multiple imputation: each numeric column's predictive variance σ_j² is the mean squared
    error of its reconstruction when it is masked, measured on the training data after fitting;
    ``sample_posterior=True`` fills each missing entry with a draw from N(μ_j, σ_j²) (a category
    drawn from its softmax), and :meth:`multiple_imputations` returns ``n_imputations`` such
    completed data sets.

    Parameters
    ----------
    missing_values : float or np.nan, default np.nan
        The placeholder of missing entries (None and pd.NA are missing in DataFrames too).
    n_components : int or "auto", default 256
        Hidden units ("auto": a quarter of the encoded width, between 2 and 32).
    corruption : {"masking", "swap", "none"}, default "masking"
        Extra corruption of the observed entries, one draw per source column.
    noise_level : float in [0, 1], default 0.25
    max_iter : int, default 1
        Refill passes at transform time (later passes feed the filled values back in; the DAE
        was trained with 0 there, and on scikit-learn's digits one pass imputes best).
    sample_posterior : bool, default False
    n_imputations : int, default 5
        Completed data sets returned by :meth:`multiple_imputations`.
    add_indicator : bool, default False
        Append :class:`sklearn.impute.MissingIndicator` columns.
    uncorrupted_weight : float in [0, 1], default 0.1
        Loss weight of the observed entries the corruption left intact (1 on corrupted ones): the
        emphasized denoising criterion of Vincent et al. (2010, §4.3), which trains the DAE to
        predict hidden entries rather than to copy visible ones.
    activation : str, default "relu"
    tied_weights : bool, default True
    max_epochs : int or "auto", default "auto"
        "auto": about 1000 Adam updates (at least 10 epochs).
    batch_size : int, default 64
    learning_rate : float, default 3e-3
        Adam step.
    categorical_features : list or None, default None
        Column names (DataFrames) or indices (arrays) to treat as categorical; by default the
        boolean, category, string and object columns of a DataFrame.
    handle_unknown : {"error", "ignore"}, default "error"
        A category unseen in ``fit``: raise, or treat the entry as missing.
    random_state, device, verbose

    Attributes
    ----------
    variances_ : ndarray (n_numeric_columns,)
        σ_j² of the numeric columns, in standardized units.
    encoder_, model_, reconstruction_, loss_curve_, n_iter_, indicator_, n_features_in_,
    feature_names_in_
    """

    _allow_nan = True

    _parameter_constraints: ClassVar[dict] = {
        **TABLE_DAE_CONSTRAINTS,
        "missing_values": [Real, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "sample_posterior": ["boolean"],
        "n_imputations": [Interval(Integral, 1, None, closed="left")],
        "add_indicator": ["boolean"],
        "uncorrupted_weight": [Interval(Real, 0, 1, closed="both")],
    }

    @property
    def _uncorrupted_weight(self) -> float:
        return float(self.uncorrupted_weight)

    def __init__(
        self,
        missing_values=np.nan,
        n_components=256,
        corruption="masking",
        noise_level=0.25,
        max_iter=1,
        sample_posterior=False,
        n_imputations=5,
        add_indicator=False,
        uncorrupted_weight=0.1,
        activation="relu",
        tied_weights=True,
        max_epochs="auto",
        batch_size=64,
        learning_rate=3e-3,
        categorical_features=None,
        handle_unknown="error",
        random_state=None,
        device="auto",
        verbose=0,
    ):
        self.missing_values = missing_values
        self.n_components = n_components
        self.corruption = corruption
        self.noise_level = noise_level
        self.max_iter = max_iter
        self.sample_posterior = sample_posterior
        self.n_imputations = n_imputations
        self.add_indicator = add_indicator
        self.uncorrupted_weight = uncorrupted_weight
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
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    def _as_nan(self, X):
        """X with the ``missing_values`` placeholder turned into NaN (a copy when it is a number)."""
        if self.missing_values is None or (isinstance(self.missing_values, float) and np.isnan(self.missing_values)):
            return X
        if is_dataframe(X):
            return X.mask(X == self.missing_values)
        X = np.array(X, dtype=np.float64, copy=True)
        X[X == self.missing_values] = np.nan
        return X

    def fit(self, X, y=None):
        """Train on the observed entries of X and estimate the predictive variances."""
        self._validate_params()
        X = self._validate_input(self._as_nan(X), reset=True)
        Z, observed = self._fit_table(X, "gaussian", scale=True)
        self.variances_ = self._masked_residual_variances(Z, observed)
        self.model_.distribution = self.model_.distribution.with_variances(self.variances_)
        self.indicator_ = (
            MissingIndicator(error_on_new=False).fit(self._missing_frame(X)) if self.add_indicator else None
        )
        return self

    def _missing_frame(self, X) -> np.ndarray:
        """NaN where X is missing, 0 elsewhere (the input of the missing indicator)."""
        if is_dataframe(X):
            import pandas as pd

            return np.where(pd.isna(X), np.nan, 0.0)
        return np.where(np.isnan(np.asarray(X, dtype=np.float64)), np.nan, 0.0)

    def _masked_residual_variances(self, Z: np.ndarray, observed: np.ndarray, rounds: int = 4) -> np.ndarray:
        """σ_j² = mean over observed entries masked at random (ν = 1/2) of (z_j − μ_j)²."""
        numeric = [s.start for s in self.encoder_.columns_ if s.kind == "numeric"]
        cols = [j for j, s in enumerate(self.encoder_.columns_) if s.kind == "numeric"]
        total, count = np.zeros(len(numeric)), np.zeros(len(numeric))
        mask_noise = ColumnCorruption("masking", 0.5, torch.as_tensor(self.encoder_.column_of_))
        g = torch.Generator().manual_seed(self._seed + 3)
        for _ in range(rounds):
            keep = mask_noise(torch.ones(Z.shape), g).numpy()
            mean = self._reconstruction_mean(Z * keep)
            hit = (keep[:, numeric] == 0) & observed[:, cols]
            total += np.where(hit, (Z[:, numeric] - mean[:, numeric]) ** 2, 0.0).sum(axis=0)
            count += hit.sum(axis=0)
        var = np.where(count > 0, total / np.maximum(count, 1), 1.0)
        return np.maximum(var, 1e-6)

    def _reconstruction_mean(self, Z: np.ndarray) -> np.ndarray:
        params = torch.from_numpy(self._reconstruction_params(Z))
        return self.model_.distribution.mean(params).numpy()

    def _fill(self, Z: np.ndarray, observed: np.ndarray, generator: torch.Generator | None) -> np.ndarray:
        """Encoded rows with the missing entries refilled ``max_iter`` times (and drawn at the end
        from the reconstruction distribution when ``generator`` is given)."""
        missing = ~self.encoder_.expand(observed)
        current = Z.copy()
        for _ in range(self.max_iter):
            params = self._reconstruction_params(current)
            current = np.where(missing, self.model_.distribution.mean(torch.from_numpy(params)).numpy(), Z)
        if generator is not None:
            draw = self.model_.distribution.sample(torch.from_numpy(params), generator).numpy()
            current = np.where(missing, draw, Z)
        return current

    def _output(self, X, filled: np.ndarray, observed: np.ndarray):
        columns = self.encoder_.decode(filled)
        if is_dataframe(X):
            out = X.copy()
            for j, name in enumerate(X.columns):
                rows = np.flatnonzero(~observed[:, j])
                if len(rows):
                    col = out[name]
                    if col.dtype.kind in "iub":  # a column of ints or bools takes the filled values' type
                        out[name] = col.astype(object)
                    out.iloc[rows, j] = columns[j][rows]
        else:
            out = np.array(X, dtype=np.float64, copy=True)
            for j in range(out.shape[1]):
                rows = ~observed[:, j]
                out[rows, j] = columns[j][rows]
        if self.indicator_ is not None:
            ind = self.indicator_.transform(self._missing_frame(X)).astype(np.float64)
            if is_dataframe(out):
                import pandas as pd

                names = self.indicator_.get_feature_names_out(np.asarray(X.columns, dtype=object))
                return pd.concat([out, pd.DataFrame(ind, columns=names, index=out.index)], axis=1)
            out = np.hstack([out, ind])
        return out

    def transform(self, X):
        """X with every missing entry filled (one posterior draw when ``sample_posterior``)."""
        check_is_fitted(self, "model_")
        X = self._validate_input(self._as_nan(X), reset=False)
        Z, observed = self.encoder_.transform(X)
        g = torch.Generator().manual_seed(self._seed + 2) if self.sample_posterior else None
        return self._output(X, self._fill(Z, observed, g), observed)

    def multiple_imputations(self, X, n_imputations=None) -> list:
        """``n_imputations`` (default the parameter) completed copies of X, each with its missing
        entries drawn from the reconstruction distribution (multiple imputation, Rubin 1987)."""
        check_is_fitted(self, "model_")
        m = self.n_imputations if n_imputations is None else n_imputations
        if isinstance(m, bool) or not isinstance(m, Integral) or m < 1:
            raise ValueError(f"n_imputations must be an integer >= 1, got {m!r}")
        X = self._validate_input(self._as_nan(X), reset=False)
        Z, observed = self.encoder_.transform(X)
        g = torch.Generator().manual_seed(self._seed + 4)
        return [self._output(X, self._fill(Z, observed, g), observed) for _ in range(int(m))]

    def get_feature_names_out(self, input_features=None):
        """The input feature names, then the missing indicators' (``missingindicator_<name>``)."""
        check_is_fitted(self, "model_")
        from sklearn.utils.validation import _check_feature_names_in

        names = _check_feature_names_in(self, input_features)
        if self.indicator_ is not None:
            names = np.concatenate([names, self.indicator_.get_feature_names_out(names)])
        return np.asarray(names, dtype=object)
