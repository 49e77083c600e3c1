"""``DenoisingAutoencoder``: a scikit-learn transformer around :class:`daekit.models.dae.DAE`."""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..corruption import make_corruption
from ..datasets.split import Split
from ..models.dae import ACTIVATIONS, DAE
from ..numerics.precision import PRECISIONS
from ..objectives.denoising import DenoisingObjective
from ..training.config import TrainConfig
from ..training.distributed import SINGLE
from ..training.loop import fit
from ..utils.runtime import resolve_device
from ..utils.validation import check_choice, check_fraction, check_positive, check_positive_int
from ._common import batched_numpy, one_thread_in_joblib_workers, seed_from_random_state, validation_split

__all__ = ["DenoisingAutoencoder", "RUN_CONFIG_FIELDS", "ESTIMATOR_ONLY"]

CORRUPTIONS = ("masking", "gaussian", "saltpepper", "none")

#: The setting of each estimator parameter in :class:`daekit.runs.dae.DAERunConfig` (the field,
#: the ``daekit train`` flag and the config.json key); the estimator keeps scikit-learn's names.
#: ``corruption`` and ``noise_level`` together make the run's ``corruption`` spec ("masking:0.25").
RUN_CONFIG_FIELDS = {
    "n_components": "hidden",
    "corruption": "corruption",
    "noise_level": "corruption",
    "tied_weights": "tied",
    "activation": "activation",
    "reconstruction": "reconstruction",
    "optimizer": "optimizer",
    "learning_rate": "lr",
    "momentum": "momentum",
    "batch_size": "batch_size",
    "max_epochs": "epochs",
    "random_state": "seed",
    "device": "device",
    "precision": "precision",
    "verbose": "verbose",
    "early_stopping": "early_stopping",
}
#: Estimator parameters without a run setting (the run holds out the last ``valid_size`` rows).
ESTIMATOR_ONLY = ("validation_fraction", "patience")


class DenoisingAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Denoising autoencoder (Vincent et al. 2008, 2010) as a scikit-learn transformer.

    Trained to reconstruct the clean x from a corrupted x̃ ~ C(x̃ | x) by minimizing
    −log p_decoder(x | f(x̃)); ``transform`` returns the hidden code f(x) of *clean* input.
    Training is single-process (use the ``daekit`` CLI with torchrun for data parallelism).

    Defaults: those of one pretraining layer in the paper-budget model selection of SdA-3
    (``daekit reproduce``, budget "paper"; results in
    ``benchmarks/results/vincent2010_paper/cells/*/SdA-3.json``), the values chosen most often over
    its nine datasets: 1000 hidden units (8 of 9), masking ν = 0.4 (5 of 9), 30 epochs (7 of 9);
    the grid's fixed pretraining settings give SGD with learning rate 0.05 on minibatches of 20
    and no early stopping.

    Parameters
    ----------
    n_components : int, default=1000
        Number of hidden units.
    corruption : {"masking", "gaussian", "saltpepper", "none"}, default="masking"
        Corruption process; ``noise_level`` is its fraction ν (masking, salt-and-pepper) or σ
        (gaussian).
    noise_level : float, default=0.4
    tied_weights : bool, default=True
        Decoder weights W' = Wᵀ (one shared parameter).
    activation : str, default="sigmoid"
        Hidden activation (sigmoid, tanh, relu, softplus, linear).
    reconstruction : {"auto", "bernoulli", "gaussian"}, default="auto"
        p_decoder: Bernoulli (cross-entropy, data in [0, 1]) or Gaussian (squared error);
        "auto" picks Bernoulli when all training data lie in [0, 1].
    optimizer : {"sgd", "adam"}, default="sgd"
    learning_rate : float, default=0.05
    momentum : float, default=0.0
        SGD momentum.
    batch_size : int, default=20
    max_epochs : int, default=30
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its loss stops improving for
        ``patience`` epochs and keep the best parameters.
    validation_fraction : float, default=0.1
    patience : int, default=5
    random_state : int, RandomState or None, default=None
    device : str, default="auto"
        "auto" uses CUDA when present.
    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the training steps' matrix products ("bfloat16": bfloat16 products, float32
        parameters and updates; see :mod:`daekit.numerics.precision`).
    verbose : int, default=0
        > 0 logs one line per epoch (logger ``daekit``, level INFO) and shows a progress bar on a
        terminal.

    Attributes
    ----------
    components_ : ndarray (n_components, n_features_in_)
        Encoder weights W.
    intercept_hidden_ : ndarray (n_components,)
    intercept_visible_ : ndarray (n_features_in_,)
    decoder_components_ : ndarray (n_features_in_, n_components)
        Decoder weights W' (Wᵀ when tied).
    reconstruction_ : str
        The reconstruction distribution used.
    loss_curve_ : list of float
        Mean training loss per epoch (per example, summed over features).
    validation_scores_ : list of float
        Negative validation loss per epoch (empty without early stopping).
    n_iter_ : int
        Epochs run.
    model_ : daekit.models.dae.DAE
    n_features_in_ : int

    Examples
    --------
    >>> from daekit import DenoisingAutoencoder
    >>> from daekit.datasets import load_digits
    >>> X, y = load_digits()
    >>> dae = DenoisingAutoencoder(n_components=32, max_epochs=2, random_state=0).fit(X)
    >>> dae.transform(X).shape
    (1797, 32)
    """

    def __init__(
        self,
        n_components=1000,
        corruption="masking",
        noise_level=0.4,
        tied_weights=True,
        activation="sigmoid",
        reconstruction="auto",
        optimizer="sgd",
        learning_rate=0.05,
        momentum=0.0,
        batch_size=20,
        max_epochs=30,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        random_state=None,
        device="auto",
        precision="float32",
        verbose=0,
    ):
        self.n_components = n_components
        self.corruption = corruption
        self.noise_level = noise_level
        self.tied_weights = tied_weights
        self.activation = activation
        self.reconstruction = reconstruction
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose

    # -- validation -------------------------------------------------------------------------
    def _validate_params(self) -> None:
        check_positive_int(self.n_components, "n_components")
        check_choice(self.corruption, "corruption", CORRUPTIONS)
        if self.corruption == "gaussian":
            check_positive(self.noise_level, "noise_level", allow_zero=True)
        elif self.corruption != "none":
            check_fraction(self.noise_level, "noise_level")
        check_choice(self.activation, "activation", tuple(ACTIVATIONS))
        check_choice(self.reconstruction, "reconstruction", ("auto", "bernoulli", "gaussian"))
        check_choice(self.optimizer, "optimizer", ("sgd", "adam"))
        check_positive(self.learning_rate, "learning_rate")
        check_positive(self.momentum, "momentum", allow_zero=True)
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.max_epochs, "max_epochs")
        check_fraction(self.validation_fraction, "validation_fraction")
        check_positive_int(self.patience, "patience")
        check_positive_int(self.verbose, "verbose", allow_zero=True)
        check_choice(self.precision, "precision", PRECISIONS)

    def _corruption_fn(self):
        if self.corruption == "none" or self.noise_level == 0:
            return make_corruption("none")
        return make_corruption(self.corruption, self.noise_level)

    def _choose_reconstruction(self, X: np.ndarray) -> str:
        in_unit = bool(X.size) and float(X.min()) >= 0.0 and float(X.max()) <= 1.0
        if self.reconstruction == "auto":
            return "bernoulli" if in_unit else "gaussian"
        if self.reconstruction == "bernoulli" and not in_unit:
            raise ValueError(
                "reconstruction='bernoulli' needs X in [0, 1] (cross-entropy), got values in "
                f"[{X.min():.4g}, {X.max():.4g}]; scale X or use reconstruction='gaussian'"
            )
        return self.reconstruction

    def _config(self, epochs: int, seed: int) -> TrainConfig:
        return TrainConfig(
            epochs=epochs,
            batch_size=self.batch_size,
            lr=self.learning_rate,
            optimizer=self.optimizer,
            momentum=self.momentum,
            early_stopping=self.early_stopping,
            patience=self.patience,
            seed=seed,
            device=str(self._device),
            verbose=self.verbose,
            precision=self.precision,
        )

    # -- fitting ------------------------------------------------------------------------------
    def _init_model(self, X: np.ndarray, seed: int) -> None:
        self.reconstruction_ = self._choose_reconstruction(X)
        self._device = resolve_device(self.device)
        self.model_ = DAE(
            X.shape[1],
            self.n_components,
            self.tied_weights,
            self.activation,
            self.reconstruction_,
            generator=torch.Generator().manual_seed(seed),
        )
        self.loss_curve_: list[float] = []
        self.validation_scores_: list[float] = []
        self.n_iter_ = 0
        self._seed, self._n_partial = seed, 0

    def _train(self, X: np.ndarray, epochs: int, seed: int, allow_validation: bool) -> None:
        if self.reconstruction_ == "bernoulli" and X.size and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                "X must lie in [0, 1] for reconstruction='bernoulli' (chosen at the first fit), "
                f"got values in [{X.min():.4g}, {X.max():.4g}]"
            )
        data = Split("X", X)
        if allow_validation and self.early_stopping:
            tr, va = validation_split(len(X), self.validation_fraction, seed)
            if va is not None:
                data = Split("X", X[tr], x_valid=X[va])
        history = fit(
            self.model_, DenoisingObjective(self._corruption_fn()), data, self._config(epochs, seed), distributed=SINGLE
        )
        self.model_.cpu()
        self.loss_curve_ += history.train_loss
        self.validation_scores_ += [-v for v in history.valid_loss]
        self.n_iter_ += len(history.records)
        self._set_attributes()

    @property
    def _n_features_out(self) -> int:
        """Width of ``transform``'s output: ``get_feature_names_out`` gives denoisingautoencoder0, …"""
        return self.components_.shape[0]

    def _set_attributes(self) -> None:
        m = self.model_
        self.components_ = m.W.detach().cpu().numpy().copy()
        self.intercept_hidden_ = m.b.detach().cpu().numpy().copy()
        self.intercept_visible_ = m.c.detach().cpu().numpy().copy()
        self.decoder_components_ = m.decoder_weight.detach().cpu().numpy().copy()

    def _validate_X(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)
        return np.array(X, dtype=np.float32, copy=True)

    @one_thread_in_joblib_workers
    def fit(self, X, y=None):
        """Train on X (n_samples, n_features) for ``max_epochs`` epochs (or until early stop)."""
        self._validate_params()
        X = self._validate_X(X, reset=True)
        seed = seed_from_random_state(self.random_state)
        self._init_model(X, seed)
        self._train(X, self.max_epochs, seed, allow_validation=True)
        return self

    @one_thread_in_joblib_workers
    def partial_fit(self, X, y=None):
        """One epoch over X; creates the model on the first call (no validation split)."""
        first = not hasattr(self, "model_")
        if first:
            self._validate_params()
        X = self._validate_X(X, reset=first)
        if first:
            self._init_model(X, seed_from_random_state(self.random_state))
        self._n_partial += 1
        self._train(X, 1, self._seed + self._n_partial, allow_validation=False)
        return self

    # -- inference ------------------------------------------------------------------------------
    def _apply(self, fn, X: np.ndarray, dtype) -> np.ndarray:
        """``fn(model, batch)`` over the rows of X, computed in float64 when X is float64 (so results
        do not depend on how the rows are batched) and in float32 otherwise."""
        torch_dtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
        model = self.model_ if torch_dtype == torch.float32 else copy.deepcopy(self.model_).to(torch.float64)
        model.to(self._device).eval()
        try:
            return batched_numpy(lambda xb: fn(model, xb), X, self._device, dtype=torch_dtype).astype(dtype, copy=False)
        finally:
            self.model_.cpu()

    def transform(self, X):
        """Hidden code f(x) = s(Wx + b) of clean X: (n_samples, n_components)."""
        check_is_fitted(self, "model_")
        X_in = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._apply(lambda m, xb: m.encode(xb), X_in, X_in.dtype)

    def inverse_transform(self, X):
        """Decode hidden codes (n_samples, n_components) to the reconstruction mean."""
        check_is_fitted(self, "model_")
        H = np.asarray(X)
        if H.ndim != 2 or H.shape[1] != self.n_components:
            raise ValueError(f"X must have shape (n_samples, {self.n_components}) for inverse_transform, got {H.shape}")
        return self._apply(
            lambda m, h: m.distribution.mean(m.decode(h)), H, np.float32 if H.dtype == np.float32 else np.float64
        )

    def reconstruct(self, X):
        """Reconstruction mean r(x) = E[x | f(x)] of clean X."""
        check_is_fitted(self, "model_")
        X_in = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._apply(lambda m, xb: m.reconstruct(xb), X_in, X_in.dtype)

    def score_samples(self, X):
        """Negative reconstruction loss −L(x, r(x)) per sample of clean X (higher is better)."""
        check_is_fitted(self, "model_")
        X_in = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return -self._apply(lambda m, xb: m.distribution.loss(xb, m(xb)), X_in, X_in.dtype).astype(np.float64)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
