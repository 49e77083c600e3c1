"""Resolve a data name used by the CLI ("mnist", "digits", "auto", a ``.npy``/``.npz`` file)
to train/test arrays."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .digits import load_digits_split
from .idx import DatasetError, DatasetNotFoundError
from .mnist import load_mnist
from .split import Split

logger = logging.getLogger(__name__)

__all__ = ["DataSplit", "Split", "load_dataset"]


#: The type :func:`load_dataset` returns (train and test arrays; no validation set yet).
DataSplit = Split


def _train_test(name: str, x_train, y_train, x_test, y_test, note: str = "") -> Split:
    return Split(name, x_train, y_train, x_test=x_test, y_test=y_test, note=note)


def _from_file(path: Path) -> Split:
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    if path.suffix == ".npy":
        x = np.load(path, mmap_mode="r")
        return Split(path.name, _check_matrix(x, path))
    if path.suffix == ".npz":
        with np.load(path) as z:
            if "x_train" not in z and "X" not in z:
                raise ValueError(f"{path} must hold an array 'x_train' (or 'X'); it has {sorted(z.files)}")
            x = z["x_train"] if "x_train" in z else z["X"]
            get = lambda k: z[k] if k in z else None  # noqa: E731
            y = get("y_train") if "x_train" in z else get("y")
            return Split(path.name, _check_matrix(x, path), y, x_test=get("x_test"), y_test=get("y_test"))
    raise ValueError(f"data must be 'mnist', 'digits', 'auto' or a .npy/.npz file, got {str(path)!r}")


def _check_matrix(x: np.ndarray, path: Path) -> np.ndarray:
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{path}: expected a non-empty 2-D array (n_samples, n_features), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"{path}: expected a numeric array, got dtype {x.dtype}")
    return x


def load_dataset(name: str, root=None, download: bool = True, timeout: float = 10.0) -> Split:
    """``"mnist"`` (download if missing), ``"digits"`` (scikit-learn's bundled 8×8 digits),
    ``"auto"`` (MNIST when it is there or downloadable, else digits, saying so), or a path to a
    ``.npy`` (features only) or ``.npz`` (``x_train``, optional ``y_train``, ``x_test``, ``y_test``)."""
    if name == "digits":
        return _train_test("digits", *load_digits_split(test_fraction=0.2, random_state=0))
    if name == "mnist":
        return _train_test("mnist", *load_mnist(root, download=download, timeout=timeout))
    if name == "auto":
        try:
            return _train_test("mnist", *load_mnist(root, download=download, timeout=timeout))
        except (DatasetNotFoundError, DatasetError) as exc:
            note = (
                "MNIST is not available here, so this run uses the embedded default (scikit-learn's 8x8 "
                f"digits). To use MNIST, set DAEKIT_DATA to a folder holding mnist/. ({str(exc).splitlines()[0]})"
            )
            logger.warning(note)
            return _train_test("digits", *load_digits_split(test_fraction=0.2, random_state=0), note=note)
    return _from_file(Path(name))
