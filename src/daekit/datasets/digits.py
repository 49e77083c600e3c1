"""scikit-learn's bundled 8x8 digits, scaled to [0, 1] (no download needed)."""

from __future__ import annotations

import numpy as np

__all__ = ["load_digits", "load_digits_split"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's 8x8 handwritten digits.

    Returns
    -------
    x : numpy.ndarray
        ``float32`` array of shape ``(1797, 64)``, pixel values divided by 16
        so they lie in ``[0, 1]``.
    y : numpy.ndarray
        ``int64`` labels of shape ``(1797,)`` in ``0..9``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    x = np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)
    y = np.asarray(bunch.target, dtype=np.int64)
    return x, y


def load_digits_split(
    test_fraction: float = 0.2, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, deterministic train/test split of :func:`load_digits`.

    Parameters
    ----------
    test_fraction : float, default 0.2
        Fraction of samples in the test set, strictly between 0 and 1.
    random_state : int, default 0
        Seed of the shuffle; the same value always gives the same split.

    Returns
    -------
    x_train, y_train, x_test, y_test : numpy.ndarray
        ``float32`` features in ``[0, 1]`` and ``int64`` labels.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    from sklearn.model_selection import train_test_split

    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=random_state, stratify=y
    )
    return x_train, y_train, x_test, y_test
