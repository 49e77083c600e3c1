"""scikit-learn estimators (single-process; see the CLI for distributed training)."""

from .dae import DenoisingAutoencoder

__all__ = ["DenoisingAutoencoder"]
