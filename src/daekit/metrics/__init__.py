"""Evaluation metrics, all imported from here.

* :mod:`~daekit.metrics.classification` — classification error with its 95% interval
  (Vincent et al. 2008, 2010): :func:`classification_error`, :func:`error_interval`.
* :mod:`~daekit.metrics.parzen` — Parzen-window log-likelihood of samples (Goodfellow et al.
  2014): :func:`parzen_log_likelihood`, :func:`parzen_log_likelihoods`, :func:`select_parzen_sigma`;
  :mod:`~daekit.metrics.parzen_protocol` — the whole evaluation: :func:`parzen_protocol`,
  :func:`mnist_parzen_sets`, :func:`mnist_parzen_protocol`.
* :mod:`~daekit.metrics.mmd` — maximum mean discrepancy (Gretton et al. 2012): :func:`mmd`.

The sample metrics work in float64 blocks, so their memory is bounded whatever the data size.
The Fisher divergence of a learned score lives with the score functions, in :mod:`daekit.score`.
"""

from .classification import Z95, classification_error, error_interval
from .mmd import MMD_BANDWIDTHS, mmd
from .parzen import PARZEN_SIGMAS, parzen_log_likelihood, parzen_log_likelihoods, select_parzen_sigma
from .parzen_protocol import MNIST_FEATURES, ParzenResult, mnist_parzen_protocol, mnist_parzen_sets, parzen_protocol

__all__ = [
    "Z95",
    "classification_error",
    "error_interval",
    "MMD_BANDWIDTHS",
    "mmd",
    "PARZEN_SIGMAS",
    "parzen_log_likelihood",
    "parzen_log_likelihoods",
    "select_parzen_sigma",
    "MNIST_FEATURES",
    "ParzenResult",
    "parzen_protocol",
    "mnist_parzen_protocol",
    "mnist_parzen_sets",
]
