"""scikit-learn estimators (single-process; see the CLI for distributed training)."""

from .dae import DenoisingAutoencoder
from .sda import StackedDenoisingAutoencoderClassifier

__all__ = ["DenoisingAutoencoder", "StackedDenoisingAutoencoderClassifier"]
