"""daekit: denoising autoencoders end to end, on PyTorch.

Corrupt (:mod:`daekit.corruption`), reconstruct (:mod:`daekit.models`,
:mod:`daekit.distributions`), train with one loop (:mod:`daekit.training.loop`), and use them through
scikit-learn estimators (:class:`DenoisingAutoencoder`).
"""

from .corruption import Compose, Gaussian, Identity, Masking, SaltPepper, SwapNoise, make_corruption
from .datasets.split import Split
from .estimators import (
    DenoisingAutoencoder,
    DenoisingAutoencoderOutlierDetector,
    DenoisingImputer,
    StackedDenoisingAutoencoderClassifier,
)
from .models.dae import DAE, DAEConfig
from .models.registry import load_model, save_model
from .objectives.denoising import DenoisingObjective
from .runs.folder import RunFolder
from .training.config import History, NonFiniteLossError, TrainConfig
from .training.loop import fit

__version__ = "0.1.0"

__all__ = [
    "Compose",
    "Gaussian",
    "Identity",
    "Masking",
    "SaltPepper",
    "SwapNoise",
    "make_corruption",
    "DAE",
    "DAEConfig",
    "save_model",
    "load_model",
    "DenoisingObjective",
    "History",
    "NonFiniteLossError",
    "TrainConfig",
    "fit",
    "DenoisingAutoencoder",
    "DenoisingAutoencoderOutlierDetector",
    "DenoisingImputer",
    "StackedDenoisingAutoencoderClassifier",
    "Split",
    "RunFolder",
    "__version__",
]
