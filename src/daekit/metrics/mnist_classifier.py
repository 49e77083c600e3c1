"""The small MNIST classifier whose features and labels measure sample quality.

:class:`MNISTClassifier` is a LeNet-style convolutional network (two 5×5 convolutions with max
pooling, a 128-unit feature layer, 10 logits). daekit trains it itself on the 60,000 MNIST
training images (:func:`train_mnist_classifier`, through :func:`daekit.fit`) — it is never
downloaded — and keeps it in a cache folder with the SHA-256 of its weights. :func:`load_mnist_classifier`
verifies that checksum before the weights are used and refuses a mismatch. The cache is
``$DAEKIT_CACHE/classifiers/mnist-cnn`` when ``DAEKIT_CACHE`` is set, otherwise
``<data_home>/classifiers/mnist-cnn`` (``$DAEKIT_DATA`` or ``~/.cache/daekit``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..models.mnist_classifier import MNISTClassifier, MNISTClassifierConfig
from ..models.registry import load_model, save_model
from ..utils.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = [
    "MIN_TEST_ACCURACY",
    "MNISTClassifier",
    "MNISTClassifierConfig",
    "classifier_dir",
    "classifier_test_accuracy",
    "get_mnist_classifier",
    "load_mnist_classifier",
    "save_classifier",
    "sha256_file",
    "train_mnist_classifier",
]

#: The classifier must reach this accuracy on the 10,000 MNIST test images to be used.
MIN_TEST_ACCURACY = 0.99
CHECKSUM_FILE = "model.safetensors.sha256"


def classifier_dir(root: str | os.PathLike | None = None) -> Path:
    """The cache folder of the classifier (see the module docstring); ``root`` overrides it."""
    if root is not None:
        return Path(root)
    if os.environ.get("DAEKIT_CACHE"):
        return Path(os.environ["DAEKIT_CACHE"]).expanduser() / "classifiers" / "mnist-cnn"
    from ..datasets import data_home

    return data_home() / "classifiers" / "mnist-cnn"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def accuracy(model: nn.Module, x: Any, y: Any, batch_size: int = 2000) -> float:
    """Share of ``x`` that ``model`` labels as ``y``."""
    xt, yt = torch.as_tensor(np.asarray(x, dtype=np.float32)), torch.as_tensor(np.asarray(y)).long()
    correct = 0
    model.eval()
    with torch.no_grad():
        for s in range(0, len(xt), batch_size):
            correct += int((model(xt[s : s + batch_size]).argmax(1) == yt[s : s + batch_size]).sum())
    return correct / len(xt)


def train_mnist_classifier(
    x_train: Any,
    y_train: Any,
    x_test: Any,
    y_test: Any,
    out: str | os.PathLike,
    epochs: int = 4,
    seed: int = 0,
    batch_size: int = 128,
    lr: float = 2e-3,
) -> MNISTClassifier:
    """Train :class:`MNISTClassifier` with Adam through :func:`daekit.fit` on (x_train, y_train),
    check its test accuracy (≥ :data:`MIN_TEST_ACCURACY`, else ``RuntimeError``) and save it to
    ``out`` with the SHA-256 of its weights. Returns the model (eval mode)."""
    from ..objectives.classification import ClassificationObjective
    from ..training.config import TrainConfig
    from ..training.loop import fit

    torch.manual_seed(seed)
    model = MNISTClassifier()
    logger.info("training %s for %d epochs", model, epochs)
    x = np.asarray(x_train, dtype=np.float32).reshape(-1, 1, 28, 28)
    fit(
        model,
        ClassificationObjective(),
        (x, np.asarray(y_train, dtype=np.int64)),
        config=TrainConfig(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer="adam",
            seed=seed,
            verbose=0,
            device="cpu",
            lr_schedule="cosine",
            lr_final_fraction=0.05,
        ),
        callbacks=[
            lambda r, _m: logger.info(
                "classifier epoch %d: loss %.4f (%.0f s)", r["epoch"], r["train_loss"], r["seconds"]
            )
        ],
    )
    model.cpu().eval()
    acc = accuracy(model, x_test, y_test)
    logger.info("MNIST classifier: test accuracy %.4f", acc)
    if acc < MIN_TEST_ACCURACY:
        raise RuntimeError(f"the MNIST classifier reached {acc:.4f} test accuracy, below {MIN_TEST_ACCURACY}")
    save_classifier(out, model, test_accuracy=acc, epochs=epochs, seed=seed)
    return model


def save_classifier(path: str | os.PathLike, model: MNISTClassifier, **extra: Any) -> Path:
    """Save ``model`` to the folder ``path`` with the SHA-256 of its weights beside them."""
    path = save_model(path, model, **extra)
    atomic_write_bytes(path / CHECKSUM_FILE, (sha256_file(path / "model.safetensors") + "\n").encode())
    return path


def load_mnist_classifier(path: str | os.PathLike | None = None) -> MNISTClassifier:
    """Load the cached classifier after verifying the SHA-256 of its weights against the stored
    checksum (``FileNotFoundError`` when absent, ``ValueError`` on a mismatch)."""
    path = classifier_dir(path)
    weights, checksum = path / "model.safetensors", path / CHECKSUM_FILE
    if not weights.is_file() or not checksum.is_file():
        raise FileNotFoundError(f"no MNIST classifier in {path}; train one with get_mnist_classifier(train=True)")
    expected = checksum.read_text().split()[0] if checksum.read_text().split() else ""
    actual = sha256_file(weights)
    if actual != expected:
        raise ValueError(
            f"{weights}: SHA-256 {actual} does not match the stored checksum {expected or '(empty)'}; "
            f"delete {path} to retrain the classifier"
        )
    model = load_model(path)
    if not isinstance(model, MNISTClassifier):
        raise TypeError(f"{path} holds a {type(model).__name__}, not an MNISTClassifier")
    return model.eval()


def classifier_test_accuracy(path: str | os.PathLike | None = None) -> float | None:
    """The test accuracy recorded when the cached classifier was trained."""
    config = classifier_dir(path) / "config.json"
    return json.loads(config.read_text()).get("test_accuracy") if config.is_file() else None


def get_mnist_classifier(path: str | os.PathLike | None = None, train: bool = True) -> MNISTClassifier:
    """The cached, verified classifier; trained once (on MNIST from :func:`daekit.datasets.load_mnist`,
    found locally, never fetched for this) when absent and ``train`` is True."""
    folder = classifier_dir(path)
    if (folder / "model.safetensors").is_file() or not train:
        return load_mnist_classifier(folder)
    from ..datasets import load_mnist

    x_train, y_train, x_test, y_test = load_mnist(download=False, verbose=False)
    logger.info("training the MNIST sample-quality classifier into %s", folder)
    train_mnist_classifier(x_train, y_train, x_test, y_test, folder)
    return load_mnist_classifier(folder)
