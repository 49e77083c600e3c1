"""scikit-learn estimator for stacked denoising autoencoder classifiers (SdA)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import TransformerTags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..stacked import StackedConfig, train_stacked
from ..training.distributed import SINGLE
from ..utils.validation import check_fraction
from ._common import one_thread_in_joblib_workers, seed_from_random_state

__all__ = ["StackedDenoisingAutoencoderClassifier", "RUN_CONFIG_FIELDS", "ESTIMATOR_ONLY"]

_PREDICT_CHUNK = 4096

#: The :class:`daekit.stacked.StackedConfig` field of each estimator parameter (the same name,
#: except scikit-learn's ``random_state`` for ``seed``).
RUN_CONFIG_FIELDS = {
    name: name
    for name in (
        "hidden_layer_sizes",
        "corruption",
        "noise_levels",
        "tied_weights",
        "reconstruction",
        "pretrain",
        "pretrain_epochs",
        "pretrain_learning_rate",
        "finetune_epochs",
        "finetune_learning_rate",
        "batch_size",
        "optimizer",
        "early_stopping",
        "patience",
        "device",
        "precision",
        "verbose",
    )
} | {"random_state": "seed"}
#: Estimator parameters without a run setting (the run holds out the last ``valid_size`` rows).
ESTIMATOR_ONLY = ("validation_fraction",)


class StackedDenoisingAutoencoderClassifier(ClassifierMixin, BaseEstimator):
    """Stacked denoising autoencoder classifier (SdA; Vincent et al. 2008, 2010).

    Greedy layer-wise pretraining of denoising autoencoders, each on the clean output of the
    layers below (corruption only on the input of the layer being trained), then supervised
    fine-tuning of the whole network with a softmax output layer, early stopping on a validation
    split and the best parameters kept. See :mod:`daekit.stacked`. All ``noise_levels`` 0 gives
    stacked ordinary autoencoders (SAA); ``pretrain=False`` the same network from random init.

    The estimator is single-process: it trains with one PyTorch process on ``device`` and leaves
    global state (such as ``torch.set_num_threads``) alone, except inside joblib workers
    (``GridSearchCV(n_jobs=k)``), where each fit uses one torch thread.

    Defaults: the values the paper-budget model selection of SdA-3 (``daekit reproduce``, budget
    "paper": widths {500, 1000}, ν ∈ {0.1, 0.25, 0.4}, {15, 30} pretraining epochs, fine-tuning lr
    ∈ {0.5, 1, 2}; results in ``benchmarks/results/vincent2010_paper/cells/*/SdA-3.json``) chose
    most often over its nine datasets: width 1000 (8 of 9), ν = 0.4 (5 of 9), 30 pretraining
    epochs (7 of 9), fine-tuning lr 1.0 (5 of 9). The grid's fixed settings give the rest:
    pretraining lr 0.05, minibatches of 20, at most 60 fine-tuning epochs, early stopping with
    patience 10 on the validation error. BENCHMARKS.md, "Estimator defaults", measures them.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (1000, 1000, 1000)
        Units of each hidden layer (each ≥ 1).
    corruption : str or sequence of str, default "masking"
        Corruption kind of every layer ("masking", "saltpepper", "gaussian", "none"), or one per
        layer.
    noise_levels : float or sequence of float, default 0.4
        Noise level of every layer (the destroyed fraction ν for masking and salt-and-pepper, σ for
        Gaussian), or one value for all layers. 0 means no corruption.
    tied_weights : bool, default True
        Decoder weights W' = Wᵀ during pretraining.
    reconstruction : {"auto", "bernoulli", "gaussian"}, default "auto"
        First layer's reconstruction loss: cross-entropy ("bernoulli", inputs in [0, 1]), squared
        error ("gaussian"), or "auto" (bernoulli when the training inputs lie in [0, 1]).
    pretrain : bool, default True
        Pretrain the hidden layers; False fine-tunes from random initialization.
    pretrain_epochs : int, default 30
        Epochs of pretraining per layer.
    pretrain_learning_rate : float, default 0.05
        SGD step of pretraining (minibatches of ``batch_size``).
    finetune_epochs : int, default 60
        Maximum epochs of supervised fine-tuning.
    finetune_learning_rate : float, default 1.0
        SGD step of fine-tuning.
    batch_size : int, default 20
        Minibatch size of both phases.
    optimizer : {"sgd", "adam"}, default "sgd"
    early_stopping : bool, default True
        Hold out ``validation_fraction`` of the training data (stratified where possible), stop
        fine-tuning after ``patience`` epochs without a lower validation error and keep the best
        parameters. With too few samples for two examples on each side the split is skipped.
    validation_fraction : float, default 0.1
        Fraction in (0, 1) held out for early stopping.
    patience : int, default 10
        Epochs without improvement before fine-tuning stops.
    random_state : int, RandomState instance or None, default None
        Seeds the initialization, corruption noise, minibatch order and validation split; a
        fixed value gives identical fits.
    device : str, default "auto"
        "auto" (CUDA when available), "cpu", "cuda" or "cuda:N". The fitted network is kept on
        the CPU and predictions are computed there.
    precision : {"float32", "bfloat16"}, default "float32"
        Precision of the training steps' matrix products ("bfloat16": bfloat16 products, float32
        parameters and updates; fast on CPUs with AMX or AVX512-BF16 and on recent GPUs, at
        batch sizes of about 128 and more; see :mod:`daekit.numerics.precision`).
    verbose : int, default 0
        > 0 logs one line per epoch (logger ``daekit``, level INFO) and shows progress bars on a
        terminal.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    n_features_in_ : int
    n_layers_ : int
        Number of hidden layers.
    network_ : daekit.models.stacked.StackedNetwork
        The fine-tuned network (CPU, eval mode); ``daekit.models.registry.save_model`` saves it.
    pretrain_curves_ : list of list of float
        Per layer, the mean pretraining loss of every epoch (empty when ``pretrain=False``).
    loss_curve_ : list of float
        Mean fine-tuning cross-entropy of every epoch.
    validation_scores_ : list of float or None
        Validation accuracy after every fine-tuning epoch (None without early stopping).
    best_validation_score_ : float or None
        Best validation accuracy, whose parameters were kept.
    n_iter_ : int
        Fine-tuning epochs run.
    """

    def __init__(
        self,
        hidden_layer_sizes=(1000, 1000, 1000),
        corruption="masking",
        noise_levels=0.4,
        tied_weights=True,
        reconstruction="auto",
        pretrain=True,
        pretrain_epochs=30,
        pretrain_learning_rate=0.05,
        finetune_epochs=60,
        finetune_learning_rate=1.0,
        batch_size=20,
        optimizer="sgd",
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        random_state=None,
        device="auto",
        precision="float32",
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.corruption = corruption
        self.noise_levels = noise_levels
        self.tied_weights = tied_weights
        self.reconstruction = reconstruction
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.finetune_epochs = finetune_epochs
        self.finetune_learning_rate = finetune_learning_rate
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # ``transform`` gives the top hidden layer's representation, always float32.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float32"])
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ fit

    def _make_config(self, seed: int) -> StackedConfig:
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        noise = self.noise_levels
        if not isinstance(noise, Real) and not isinstance(noise, str):
            noise = tuple(noise) if noise is not None else noise
        corruption = self.corruption
        if not isinstance(corruption, str):
            corruption = tuple(corruption)
        return StackedConfig(
            hidden_layer_sizes=hidden,
            corruption=corruption,
            noise_levels=noise,
            tied_weights=self.tied_weights,
            reconstruction=self.reconstruction,
            pretrain=self.pretrain,
            pretrain_epochs=self.pretrain_epochs,
            pretrain_learning_rate=self.pretrain_learning_rate,
            finetune_epochs=self.finetune_epochs,
            finetune_learning_rate=self.finetune_learning_rate,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            early_stopping=self.early_stopping,
            patience=self.patience,
            seed=seed,
            device=self.device,
            precision=self.precision,
            verbose=int(self.verbose) if isinstance(self.verbose, (bool, np.bool_)) else self.verbose,
        )

    def _split(self, X: np.ndarray, y: np.ndarray, seed: int):
        """Training and validation parts, or (X, y, None, None) without early stopping."""
        if not self.early_stopping:
            return X, y, None, None
        n = len(X)
        n_valid = math.ceil(self.validation_fraction * n)
        if n_valid < 2 or n - n_valid < 2:
            return X, y, None, None
        try:
            parts = train_test_split(X, y, test_size=n_valid, random_state=seed, stratify=y)
        except ValueError:  # a class too small to stratify
            parts = train_test_split(X, y, test_size=n_valid, random_state=seed)
        x_train, x_valid, y_train, y_valid = parts
        return x_train, y_train, x_valid, y_valid

    @one_thread_in_joblib_workers
    def fit(self, X, y):
        """Pretrain layer by layer on ``X``, then fine-tune on ``(X, y)``.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
        y : array-like (n_samples,), labels of any type (at least two classes).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=np.float32, copy=True)
        check_classification_targets(y)
        if isinstance(self.early_stopping, (bool, np.bool_)) and self.early_stopping:
            fraction = check_fraction(self.validation_fraction, "validation_fraction")
            if not 0.0 < fraction < 1.0:
                raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        seed = seed_from_random_state(self.random_state)
        config = self._make_config(seed)
        encoder = LabelEncoder()
        y_enc = encoder.fit_transform(y)
        classes = encoder.classes_
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}"
            )
        x_train, y_train, x_valid, y_valid = self._split(X, y_enc.astype(np.int64), seed)
        result = train_stacked(x_train, y_train, x_valid, y_valid, config, n_classes=len(classes), distributed=SINGLE)
        history = result.finetune_history

        self.classes_ = classes
        self.n_layers_ = config.n_layers
        self.network_ = result.network.cpu().eval()
        self.pretrain_curves_ = [h.train_loss for h in result.pretrain_histories]
        self.loss_curve_ = history.train_loss
        if x_valid is not None:
            self.validation_scores_ = [1.0 - s for s in history.valid_score]
            self.best_validation_score_ = 1.0 - history.best_score if history.best_score is not None else None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self.n_iter_ = len(history.records)
        return self

    # ------------------------------------------------------------------ inference

    def _apply(self, X, fn) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        x = torch.from_numpy(np.array(X, dtype=np.float32, order="C", copy=True))
        net = self.network_
        with torch.no_grad():
            outs = [fn(net, x[i : i + _PREDICT_CHUNK]) for i in range(0, max(len(x), 1), _PREDICT_CHUNK)]
        return torch.cat(outs).numpy()

    def _logits(self, X) -> np.ndarray:
        return self._apply(X, lambda net, x: net(x).double())

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities softmax(logits), shape (n_samples, n_classes), columns in the order
        of ``classes_``. No corruption is applied (deterministic)."""
        logits = torch.from_numpy(self._logits(X))
        return torch.softmax(logits, dim=1).numpy()

    def predict_log_proba(self, X) -> np.ndarray:
        """log of :meth:`predict_proba`, computed stably from the logits."""
        logits = torch.from_numpy(self._logits(X))
        return torch.log_softmax(logits, dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """The most probable class of every row of ``X``."""
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def fit_transform(self, X, y) -> np.ndarray:
        """:meth:`fit` on ``(X, y)``, then :meth:`transform` of ``X``."""
        return self.fit(X, y).transform(X)

    def transform(self, X) -> np.ndarray:
        """The top hidden layer's representation of the clean input, (n_samples, last layer size),
        float32."""
        return self._apply(X, lambda net, x: net.features(x))
