"""Sample-quality metrics (daekit.metrics.sample_quality), the checksummed classifier (daekit.metrics.mnist_classifier)
and ``daekit evaluate-samples FILE.npy``."""

import numpy as np
import pytest
import scipy.linalg
import torch

from daekit.metrics.mnist_classifier import (
    CHECKSUM_FILE,
    MNISTClassifier,
    load_mnist_classifier,
    save_classifier,
)
from daekit.metrics.sample_quality import (
    check_mnist_samples,
    class_shares,
    frechet_distance,
    memorization_ratio,
    recognizable_share,
)


def _scipy_frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(ca @ cb)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(ca + cb - 2 * np.real(root)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(150, 5)) @ rng.normal(size=(5, 5)) + rng.normal(size=5)
    assert frechet_distance(a, b) == pytest.approx(_scipy_frechet(a, b), rel=1e-6, abs=1e-8)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-8)


def test_frechet_distance_of_two_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    b = rng.normal(size=(20000, 3)) * 2 + 1  # N(1, 4I) against N(0, I): 3·1 + 3·(1 + 4 − 2·2) = 6
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.03)


def test_shares():
    probs = np.array([[0.95, 0.05], [0.5, 0.5], [0.1, 0.9], [0.2, 0.8]])
    share, se = recognizable_share(probs)
    assert share == 0.5 and se == pytest.approx(np.sqrt(0.25 / 4))
    np.testing.assert_allclose(class_shares(probs), [0.5, 0.5])  # a tie goes to the first class


def test_memorization_ratio():
    rng = np.random.default_rng(0)
    train, test = rng.random((50, 20)), rng.random((50, 20))
    copies = train[:30] + 1e-4 * rng.normal(size=(30, 20))
    assert memorization_ratio(copies, train, test)[0] < 0.01
    fresh = rng.random((40, 20))
    ratio, se = memorization_ratio(fresh, train, test)
    assert 0.8 < ratio < 1.25 and se > 0
    with pytest.raises(ValueError, match="same number"):
        memorization_ratio(fresh, train, test[:10])


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.zeros((5, 100)), "shape"),
        (np.zeros(784), "shape"),
        (np.full((5, 784), 255.0), r"\[0, 1\]"),
        (np.full((5, 784), np.nan), "NaN"),
        (np.zeros((1, 784)), "N >= 2"),
        (np.array([["a"] * 784] * 2), "numeric"),
    ],
)
def test_check_mnist_samples_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        check_mnist_samples(bad)


def test_check_mnist_samples_accepts_image_shapes():
    for shape in ((3, 784), (3, 28, 28), (3, 1, 28, 28)):
        assert check_mnist_samples(np.full(shape, 0.5)).shape == (3, 784)


def test_classifier_checksum_is_verified_before_use(tmp_path):
    torch.manual_seed(0)
    model = MNISTClassifier(channels=(4, 8), n_features=16)
    folder = save_classifier(tmp_path / "clf", model, test_accuracy=0.5)
    loaded = load_mnist_classifier(folder)
    x = torch.rand(3, 784)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # one flipped bit in the weights
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256"):
        load_mnist_classifier(folder)
    (folder / CHECKSUM_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="no MNIST classifier"):
        load_mnist_classifier(folder)


def test_evaluate_samples_cli_rejects_bad_files(tmp_path, capsys):
    from daekit.cli import main

    np.save(tmp_path / "wrong_shape.npy", np.zeros((10, 100), dtype=np.float32))
    np.save(tmp_path / "wrong_range.npy", np.full((10, 784), 2.0, dtype=np.float32))
    for name, message in (("wrong_shape.npy", "shape"), ("wrong_range.npy", "[0, 1]"), ("missing.npy", ".npy file")):
        assert main(["evaluate-samples", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
