"""daekit: denoising autoencoders end to end, on PyTorch.

Corrupt (:mod:`daekit.corruption`), reconstruct (:mod:`daekit.models`,
:mod:`daekit.distributions`), train with one loop (:mod:`daekit.train`), and use them through
scikit-learn estimators (:class:`DenoisingAutoencoder`).
"""

from .corruption import Compose, Gaussian, Identity, Masking, SaltPepper, SwapNoise, make_corruption
from .estimators import (DenoisingAutoencoder, DenoisingAutoencoderOutlierDetector, DenoisingImputer,
                         StackedDenoisingAutoencoderClassifier)
from .models import DAE, DAEConfig
from .train import DenoisingObjective, History, NonFiniteLossError, TrainConfig, fit

__version__ = "0.1.0"

__all__ = [
    "Compose", "Gaussian", "Identity", "Masking", "SaltPepper", "SwapNoise", "make_corruption",
    "DAE", "DAEConfig", "DenoisingAutoencoder", "DenoisingAutoencoderOutlierDetector", "DenoisingImputer",
    "StackedDenoisingAutoencoderClassifier", "DenoisingObjective", "History", "NonFiniteLossError", "TrainConfig", "fit",
    "__version__",
]
