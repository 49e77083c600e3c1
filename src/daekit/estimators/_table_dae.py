"""What the outlier detector and the imputer share: input validation (arrays and mixed-type
DataFrames), the table encoding, and training a :class:`daekit.models.dae.DAE` on observed entries
through the one loop (:func:`daekit.fit`)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
    validate_data,
)

from ..models.dae import ACTIVATIONS, DAE
from ..training.config import TrainConfig
from ..training.distributed import SINGLE
from ..training.loop import fit
from ..utils.runtime import resolve_device
from ._columns import COLUMN_CORRUPTIONS, ColumnCorruption, ObservedEntriesObjective
from ._common import seed_from_random_state
from .tabular import TableEncoder, needs_table_path

__all__ = ["TABLE_DAE_CONSTRAINTS", "TableDAEMixin", "auto_components", "auto_epochs"]


def auto_components(width: int) -> int:
    """The default bottleneck: a quarter of the encoded width, between 2 and 32 units."""
    return int(min(32, max(2, width // 4)))


def auto_epochs(n_samples: int, batch_size: int, steps: int, most: int = 5000) -> int:
    """Enough epochs for about ``steps`` minibatch updates (at least 10, at most ``most``)."""
    per_epoch = max(1, -(-n_samples // batch_size))
    return int(min(most, max(10, -(-steps // per_epoch))))


TABLE_DAE_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "corruption": [StrOptions(set(COLUMN_CORRUPTIONS))],
    "noise_level": [Interval(Real, 0, 1, closed="both")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "tied_weights": ["boolean"],
    "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "categorical_features": [list, tuple, None],
    "handle_unknown": [StrOptions({"error", "ignore"})],
    "random_state": ["random_state"],
    "device": [str],
    "verbose": ["verbose"],
}


class TableDAEMixin(BaseEstimator):
    """Fitting machinery of the table estimators; subclasses set ``_allow_nan`` and call
    :meth:`_fit_table` / :meth:`_encode` / :meth:`_reconstruction_params`."""

    _allow_nan = False
    _auto_steps = 1000  # minibatch updates of max_epochs="auto"

    @property
    def _uncorrupted_weight(self) -> float:
        """The loss weight of uncorrupted entries (emphasized denoising); 1 gives the plain criterion."""
        return 1.0

    # -- input ------------------------------------------------------------------------------------
    def _validate_input(self, X, reset: bool):
        """A mixed-type DataFrame as is (names and width checked), anything else through
        scikit-learn's ``validate_data`` as a float64 array."""
        if needs_table_path(X):
            _check_feature_names(self, X, reset=reset)
            _check_n_features(self, X, reset=reset)
            if X.shape[0] == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            return X
        nan = "allow-nan" if self._allow_nan else True
        return validate_data(self, X, dtype=np.float64, ensure_all_finite=nan, reset=reset)

    def _unit_interval(self, X) -> bool:
        if needs_table_path(X):
            return False
        arr = np.asarray(X, dtype=np.float64)
        finite = arr[np.isfinite(arr)]
        return bool(finite.size) and float(finite.min()) >= 0.0 and float(finite.max()) <= 1.0

    # -- fit ----------------------------------------------------------------------------------------
    def _fit_table(self, X, reconstruction: str, scale: bool) -> tuple[np.ndarray, np.ndarray]:
        """Fit the encoder and train the DAE on X; returns the encoded training (Z, observed)."""
        cats = list(self.categorical_features or [])
        if cats and not needs_table_path(X) and not hasattr(X, "columns"):
            cats = [f"x{int(c)}" for c in cats]
        self.encoder_ = TableEncoder(categorical=cats, scale=scale, handle_unknown=self.handle_unknown).fit(X)
        Z, observed = self.encoder_.transform(X)
        self._device = resolve_device(self.device)
        seed = seed_from_random_state(self.random_state)
        self._seed = seed
        self.reconstruction_ = reconstruction if self.encoder_.all_numeric else "mixed"
        self.n_components_ = auto_components(Z.shape[1]) if self.n_components == "auto" else self.n_components
        epochs = (
            auto_epochs(len(Z), self.batch_size, self._auto_steps) if self.max_epochs == "auto" else self.max_epochs
        )
        model = DAE(
            Z.shape[1],
            self.n_components_,
            self.tied_weights,
            self.activation,
            "bernoulli" if self.reconstruction_ == "bernoulli" else "gaussian",
            generator=torch.Generator().manual_seed(seed),
        )
        if self.reconstruction_ != "bernoulli":
            model.distribution = self.encoder_.likelihood()
        self.corruption_ = ColumnCorruption(
            self.corruption, self.noise_level, torch.as_tensor(self.encoder_.column_of_)
        )
        config = TrainConfig(
            epochs=epochs,
            batch_size=self.batch_size,
            lr=self.learning_rate,
            optimizer="adam",
            seed=seed,
            device=str(self._device),
            verbose=int(self.verbose),
        )
        objective = ObservedEntriesObjective(self.corruption_, self._uncorrupted_weight)
        history = fit(model, objective, (Z, observed.astype(np.float32)), config, distributed=SINGLE)
        self.model_ = model.cpu().eval()
        self.loss_curve_ = list(history.train_loss)
        self.n_iter_ = len(history.records)
        return Z, observed

    # -- inference ----------------------------------------------------------------------------------
    def _encode(self, X) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "model_")
        X = self._validate_input(X, reset=False)
        return self.encoder_.transform(X)

    def _reconstruction_params(self, Z: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """The decoder's output g(f(z)) for every row of Z (float32), in batches."""
        out = np.empty_like(Z, dtype=np.float32)
        with torch.no_grad():
            for a in range(0, len(Z), batch_size):
                out[a : a + batch_size] = self.model_(
                    torch.from_numpy(np.ascontiguousarray(Z[a : a + batch_size]))
                ).numpy()
        return out

    def _feature_names(self) -> np.ndarray:
        names = getattr(self, "feature_names_in_", None)
        return np.asarray(names if names is not None else self.encoder_.names_, dtype=object)
