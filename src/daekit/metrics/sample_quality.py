"""Sample quality of an MNIST generator, beyond the Parzen window.

* :func:`frechet_distance` — ‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2(Σ_aΣ_b)^½) between Gaussians fitted
  to two feature sets (Heusel et al. 2017, "FID"), here in the 128-unit feature layer of daekit's
  own :class:`~daekit.metrics.mnist_classifier.MNISTClassifier`; its floor is the distance between
  10,000 training and the 10,000 test images.
* :func:`recognizable_share` — the share of samples the classifier labels with probability ≥ 0.9.
* :func:`class_shares` — each class's share of the samples (by the classifier's label).
* :func:`memorization_ratio` — median over samples of the distance to the nearest of ``train``
  divided by the median distance to the nearest of ``test`` (sets of equal size): ≈ 1 for a
  model that does not copy its training images, → 0 for one that does.
* :func:`check_mnist_samples` validates a sample array; :func:`evaluate_mnist_samples` computes
  every metric above plus the Parzen protocol of :mod:`daekit.sample_metrics`, with standard
  errors, and :func:`reference_rows` the same for held-out data (the ceiling and floor rows).
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from ..utils.validation import check_positive_int
from .parzen import parzen_log_likelihood, select_parzen_sigma

__all__ = [
    "check_mnist_samples",
    "class_shares",
    "classifier_outputs",
    "evaluate_mnist_samples",
    "frechet_distance",
    "gaussian_stats",
    "memorization_ratio",
    "recognizable_share",
    "reference_rows",
]


def check_mnist_samples(samples: Any) -> np.ndarray:
    """``samples`` as a float32 (N, 784) array; ``ValueError`` unless they are N ≥ 2 MNIST-shaped
    images ((N, 784), (N, 28, 28) or (N, 1, 28, 28)) with finite values in [0, 1]."""
    a = np.asarray(samples)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"samples must be a numeric array, got dtype {a.dtype}")
    if (
        a.ndim < 2
        or a.shape[0] < 2
        or int(np.prod(a.shape[1:])) != 784
        or a.shape[1:] not in ((784,), (28, 28), (1, 28, 28))
    ):
        raise ValueError(
            f"samples must have shape (N, 784), (N, 28, 28) or (N, 1, 28, 28) with N >= 2 (MNIST), got {a.shape}"
        )
    a = a.reshape(a.shape[0], 784).astype(np.float32)
    if not np.isfinite(a).all():
        raise ValueError("samples contain NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"samples must be pixel intensities in [0, 1], got values in [{lo:.4g}, {hi:.4g}]")
    return a


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof = 1) of ``features`` (n, k), float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be a 2-D array with at least 2 rows, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(features_a: Any, features_b: Any) -> float:
    """d² = ‖μ_a − μ_b‖² + tr Σ_a + tr Σ_b − 2 tr (Σ_a^½ Σ_b Σ_a^½)^½ of the Gaussians fitted to
    the two feature sets (Fréchet 1957; Dowson & Landau 1982), float64; the trace term equals
    tr (Σ_aΣ_b)^½ and is computed from symmetric eigendecompositions, so it is real and stable."""
    mu_a, cov_a = gaussian_stats(features_a)
    mu_b, cov_b = gaussian_stats(features_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"the feature sets have different widths: {mu_a.shape[0]} and {mu_b.shape[0]}")
    root_a = _sqrt_psd(cov_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def classifier_outputs(classifier: nn.Module, x: Any, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, k), class probabilities (N, 10)) of ``classifier`` on the images ``x``."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    feats, probs = [], []
    # the classifier's two stages are submodules, which nn.Module's __getattr__ types as Tensor | Module
    features, head = cast(nn.Module, classifier.features), cast(nn.Module, classifier.head)
    classifier.eval()
    with torch.no_grad():
        for s in range(0, len(xt), batch_size):
            f = features(xt[s : s + batch_size])
            feats.append(f.numpy())
            probs.append(torch.softmax(head(f), dim=1).numpy())
    return np.concatenate(feats).astype(np.float64), np.concatenate(probs).astype(np.float64)


def recognizable_share(probs: Any, threshold: float = 0.9) -> tuple[float, float]:
    """Share of rows of ``probs`` (N, classes) whose largest probability is ≥ ``threshold``, and
    its binomial standard error √(p(1 − p)/N)."""
    p = np.asarray(probs, dtype=np.float64)
    share = float((p.max(1) >= threshold).mean())
    return share, math.sqrt(share * (1 - share) / len(p))


def class_shares(probs: Any) -> np.ndarray:
    """Each class's share of the rows of ``probs`` (N, classes) by their most probable class."""
    p = np.asarray(probs, dtype=np.float64)
    return np.bincount(p.argmax(1), minlength=p.shape[1]) / len(p)


def _nearest_distances(x: Tensor, ref: Tensor, batch_size: int = 1000) -> Tensor:
    ref_sq = ref.square().sum(1)
    out = []
    for s in range(0, len(x), batch_size):
        b = x[s : s + batch_size]
        d = (b.square().sum(1, keepdim=True) + ref_sq[None, :] - 2 * b @ ref.t()).clamp_min_(0)
        out.append(d.min(1).values.sqrt())
    return torch.cat(out)


def memorization_ratio(samples: Any, train: Any, test: Any, n_boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """median_i min_j ‖s_i − train_j‖ / median_i min_j ‖s_i − test_j‖ (Euclidean, pixels), with a
    bootstrap standard error over the samples. ``train`` and ``test`` must have the same size
    (the nearest neighbour in a larger set is nearer)."""
    s = torch.as_tensor(np.asarray(samples, dtype=np.float32).reshape(len(samples), -1))
    tr = torch.as_tensor(np.asarray(train, dtype=np.float32).reshape(len(train), -1))
    te = torch.as_tensor(np.asarray(test, dtype=np.float32).reshape(len(test), -1))
    if len(tr) != len(te):
        raise ValueError(f"train and test must have the same number of images, got {len(tr)} and {len(te)}")
    d_train, d_test = _nearest_distances(s, tr).numpy(), _nearest_distances(s, te).numpy()
    ratio = float(np.median(d_train) / np.median(d_test))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(check_positive_int(n_boot, "n_boot")):
        idx = rng.integers(0, len(s), len(s))
        boots.append(np.median(d_train[idx]) / np.median(d_test[idx]))
    return ratio, float(np.std(boots))


def _frechet_with_se(f: np.ndarray, ref: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    boots = [frechet_distance(f[rng.integers(0, len(f), len(f))], ref) for _ in range(n_boot)]
    return frechet_distance(f, ref), float(np.std(boots))


def evaluate_mnist_samples(
    samples: Any,
    classifier: nn.Module,
    x_train: np.ndarray,
    x_test: np.ndarray,
    n_ref: int = 10_000,
    n_boot: int = 20,
    parzen: bool = True,
) -> dict[str, Any]:
    """Every sample-quality metric of ``samples`` (validated by :func:`check_mnist_samples`):
    Parzen log-likelihood of the first ``n_ref`` test images (σ chosen on training images
    50,000–51,000), Fréchet distance to the first ``n_ref`` test images' features, recognizable
    share, class shares and their largest deviation from 1/10, memorization ratio against the
    first ``n_ref`` training and test images — each with a standard error (bootstrap over the
    samples for the Fréchet distance and the memorization ratio, binomial for shares)."""
    x = check_mnist_samples(samples)
    n_ref = check_positive_int(n_ref, "n_ref")
    test, valid = x_test[:n_ref], x_train[50_000:51_000]
    result: dict[str, Any] = {"n_samples": len(x), "n_ref": len(test)}
    if parzen:
        sigma = select_parzen_sigma(x, valid)
        mean, se = parzen_log_likelihood(x, test, sigma)
        result.update(parzen=mean, parzen_se=se, parzen_sigma=sigma)
    feats, probs = classifier_outputs(classifier, x)
    test_feats, _ = classifier_outputs(classifier, test)
    result["frechet"], result["frechet_se"] = _frechet_with_se(feats, test_feats, n_boot, 0)
    result["recognizable"], result["recognizable_se"] = recognizable_share(probs)
    shares = class_shares(probs)
    result["class_shares"] = shares.tolist()
    result["max_class_deviation"] = float(np.abs(shares - 0.1).max())
    result["class_share_se"] = float(math.sqrt(0.1 * 0.9 / len(x)))
    result["memorization"], result["memorization_se"] = memorization_ratio(x, x_train[: len(test)], test)
    return result


def reference_rows(
    classifier: nn.Module, x_train: np.ndarray, x_test: np.ndarray, n: int = 10_000, parzen: bool = True
) -> dict[str, Any]:
    """The held-out rows: the first ``n`` training images scored as if they were samples (the
    Parzen ceiling of an honest model; recognizable share and class shares of real digits) and
    the Fréchet floor, the distance between the features of ``n`` training and ``n`` test images.
    The memorization ratio of training images is 0 by construction and is not reported."""
    x = check_mnist_samples(x_train[:n])
    test = x_test[:n]
    row: dict[str, Any] = {"n_samples": len(x), "n_ref": len(test)}
    if parzen:
        sigma = select_parzen_sigma(x, x_train[50_000:51_000])
        row["parzen"], row["parzen_se"] = parzen_log_likelihood(x, test, sigma)
        row["parzen_sigma"] = sigma
    feats, probs = classifier_outputs(classifier, x)
    test_feats, _ = classifier_outputs(classifier, test)
    row["frechet_floor"] = frechet_distance(feats, test_feats)
    row["recognizable"], row["recognizable_se"] = recognizable_share(probs)
    row["max_class_deviation"] = float(np.abs(class_shares(probs) - 0.1).max())
    return row
