"""The Parzen-window evaluation of a sampler end to end (Goodfellow et al. 2014, Table 1).

σ is chosen on a validation set, then the mean log-likelihood of the test set is reported with
its standard error. :func:`mnist_parzen_protocol` fixes the MNIST sets of the protocol: the
first 1,000 of training examples 50,000–60,000 for σ, the first ``n_test`` test images
(10,000 in the full protocol, with 10,000 samples).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..utils.validation import check_positive_int
from .parzen import PARZEN_SIGMAS, parzen_log_likelihood, select_parzen_sigma

__all__ = ["ParzenResult", "parzen_protocol", "mnist_parzen_sets", "mnist_parzen_protocol", "MNIST_FEATURES"]

logger = logging.getLogger(__name__)

#: Input dimension of MNIST, on which the published Parzen numbers are defined.
MNIST_FEATURES = 784

#: Samples and test points of the full protocol.
PROTOCOL_SIZE = 10000


@dataclass(frozen=True)
class ParzenResult:
    """Mean Parzen log-likelihood of the test set (nats) ± its standard error, the σ chosen, the
    sizes used and the seconds the evaluation took."""

    mean: float
    std_error: float
    sigma: float
    n_samples: int
    n_valid: int
    n_test: int
    seconds: float

    @property
    def full_protocol(self) -> bool:
        """True when 10,000 samples were scored on 10,000 test points, as in the published tables."""
        return self.n_samples == PROTOCOL_SIZE and self.n_test == PROTOCOL_SIZE

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "full_protocol": self.full_protocol}


def parzen_protocol(
    samples: Any, valid: Any, test: Any, sigmas: Sequence[float] | np.ndarray = PARZEN_SIGMAS, batch_size: int = 1000
) -> ParzenResult:
    """σ of ``sigmas`` chosen on ``valid`` (:func:`select_parzen_sigma`), then the mean
    log-likelihood of ``test`` and its standard error (:func:`parzen_log_likelihood`)."""
    t0 = time.perf_counter()
    sigma = select_parzen_sigma(samples, valid, sigmas, batch_size=batch_size)
    mean, se = parzen_log_likelihood(samples, test, sigma, batch_size=batch_size)
    result = ParzenResult(mean, se, sigma, len(samples), len(valid), len(test), time.perf_counter() - t0)
    logger.info("Parzen log-likelihood %.1f ± %.1f nats (sigma %.3g)", mean, se, sigma)
    return result


def mnist_parzen_sets(
    n_test: int = PROTOCOL_SIZE, *, root: Any = None, download: bool = True, verbose: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST sets of the protocol: (valid, test) = the first 1,000 of training examples
    50,000–60,000 and the first ``n_test`` test images.

    Raises :class:`daekit.datasets.DatasetNotFoundError` when MNIST is neither in ``root``
    (default ``$DAEKIT_DATA``) nor downloadable.
    """
    from ..datasets import load_mnist

    n_test = check_positive_int(n_test, "n_test")
    x_train, _, x_test, _ = load_mnist(root, download=download, verbose=verbose)
    return x_train[50000:51000], x_test[:n_test]


def mnist_parzen_protocol(
    samples: Any, n_test: int = PROTOCOL_SIZE, *, root: Any = None, download: bool = True, verbose: bool = False
) -> ParzenResult:
    """:func:`parzen_protocol` of ``samples`` (N, 784) on the MNIST sets of the protocol
    (:func:`mnist_parzen_sets`); ValueError when the samples are not 784-dimensional."""
    n_test = check_positive_int(n_test, "n_test")
    d = int(np.prod(np.shape(samples)[1:]))
    if d != MNIST_FEATURES:
        raise ValueError(
            f"samples must have {MNIST_FEATURES} features (the Parzen protocol is defined on MNIST), got {d}"
        )
    valid, test = mnist_parzen_sets(n_test, root=root, download=download, verbose=verbose)
    return parzen_protocol(samples, valid, test)
