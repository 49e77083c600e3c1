"""scikit-learn estimators (single-process; see the CLI for distributed training)."""

from .dae import DenoisingAutoencoder
from .imputer import DenoisingImputer
from .outliers import DenoisingAutoencoderOutlierDetector
from .sda import StackedDenoisingAutoencoderClassifier

__all__ = [
    "DenoisingAutoencoder",
    "DenoisingAutoencoderOutlierDetector",
    "DenoisingImputer",
    "StackedDenoisingAutoencoderClassifier",
]
