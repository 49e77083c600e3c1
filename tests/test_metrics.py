"""Sample metrics: Parzen-window log-likelihood (GAN / GSN protocol) and MMD."""

import math

import numpy as np
import pytest
import torch

from daekit.metrics import (
    MNIST_FEATURES,
    PARZEN_SIGMAS,
    mmd,
    mnist_parzen_protocol,
    parzen_log_likelihood,
    parzen_log_likelihoods,
    parzen_protocol,
    select_parzen_sigma,
)


def direct_parzen(samples, test, sigma):
    """log p(x) = logsumexp_i(−‖x − s_i‖²/2σ²) − log N − d log(σ√(2π)), differences formed directly."""
    s = torch.as_tensor(samples, dtype=torch.float64)
    x = torch.as_tensor(test, dtype=torch.float64)
    d2 = ((x[:, None, :] - s[None, :, :]) ** 2).sum(-1)
    n, d = s.shape
    return (
        torch.logsumexp(-d2 / (2 * sigma**2), dim=1) - math.log(n) - d * math.log(sigma * math.sqrt(2 * math.pi))
    ).numpy()


def test_parzen_matches_a_direct_computation_on_a_tiny_example():
    rng = np.random.default_rng(0)
    samples, test = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    ll = parzen_log_likelihoods(samples, test, 0.5)
    # by hand, with plain numpy and Python loops
    manual = []
    for x in test:
        terms = [-np.sum((x - s) ** 2) / (2 * 0.25) for s in samples]
        m = max(terms)
        manual.append(
            m + math.log(sum(math.exp(t - m) for t in terms)) - math.log(5) - 3 * math.log(0.5 * math.sqrt(2 * math.pi))
        )
    np.testing.assert_allclose(ll, manual, rtol=1e-12)
    mean, se = parzen_log_likelihood(samples, test, 0.5)
    assert mean == pytest.approx(np.mean(manual)) and se == pytest.approx(np.std(manual) / 2)
    # one sample: the Gaussian log-density itself
    one = parzen_log_likelihoods([[0.0, 0.0]], [[1.0, 2.0]], 2.0)[0]
    assert one == pytest.approx(-5 / 8 - 2 * math.log(2 * math.sqrt(2 * math.pi)))


def test_parzen_is_stable_for_large_dimension_and_small_sigma():
    rng = np.random.default_rng(1)
    samples = rng.random((60, 784))
    test = np.concatenate([rng.random((19, 784)), samples[:1]])  # the last test point is a sample
    for sigma in (0.01, 0.05, 0.2):
        ll = parzen_log_likelihoods(samples, test, sigma, batch_size=7)
        assert np.isfinite(ll).all()
        np.testing.assert_allclose(ll, direct_parzen(samples, test, sigma), rtol=1e-9)
    # σ = 0.01: far points sit ~ −6·10⁵ nats below the duplicate, which keeps its exact value
    ll = parzen_log_likelihoods(samples, test, 0.01)
    assert ll[:-1].max() < -1e5
    assert ll[-1] == pytest.approx(-math.log(60) - 784 * math.log(0.01 * math.sqrt(2 * math.pi)), rel=1e-12)


def test_parzen_does_not_depend_on_batching_or_input_type():
    rng = np.random.default_rng(2)
    samples, test = rng.random((53, 10)).astype(np.float32), rng.random((31, 10))
    a = parzen_log_likelihoods(samples, test, 0.3, batch_size=1000)
    b = parzen_log_likelihoods(torch.as_tensor(samples), torch.as_tensor(test), 0.3, batch_size=4)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    images = torch.as_tensor(samples).reshape(53, 1, 2, 5)  # (N, ...) is flattened
    np.testing.assert_allclose(parzen_log_likelihoods(images, test, 0.3), a, rtol=1e-12)


def test_select_parzen_sigma_picks_the_best_of_the_grid():
    rng = np.random.default_rng(3)
    samples = rng.normal(scale=0.3, size=(400, 5))
    valid = rng.normal(scale=0.3, size=(200, 5))
    best, scores = select_parzen_sigma(samples, valid, return_scores=True)
    assert len(scores) == len(PARZEN_SIGMAS)
    expected = [parzen_log_likelihood(samples, valid, s)[0] for s in PARZEN_SIGMAS]
    np.testing.assert_allclose(scores, expected, rtol=1e-10)
    assert best == PARZEN_SIGMAS[int(np.argmax(expected))]
    assert 0.1 < best < 0.5  # a fraction of the data's scale
    assert select_parzen_sigma(samples, valid, sigmas=[0.2]) == 0.2


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: parzen_log_likelihood(np.zeros((3, 2)), np.zeros((3, 4)), 0.1), "same number of features"),
        (lambda: parzen_log_likelihood(np.zeros((0, 2)), np.zeros((3, 2)), 0.1), "non-empty"),
        (lambda: parzen_log_likelihood(np.zeros((3, 2)), np.full((3, 2), np.nan), 0.1), "NaN"),
        (lambda: parzen_log_likelihood(np.zeros((3, 2)), np.zeros((3, 2)), 0.0), "sigma"),
        (lambda: select_parzen_sigma(np.zeros((3, 2)), np.zeros((3, 2)), sigmas=[]), "sigmas"),
        (lambda: mmd(np.zeros((1, 2)), np.zeros((3, 2))), "at least 2"),
        (lambda: mmd(np.zeros((3, 2)), np.zeros((3, 2)), bandwidths=[-1.0]), "bandwidths"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def naive_mmd(x, y, bandwidths):
    def k(a, b):
        d2 = ((a[:, None] - b[None]) ** 2).sum(-1)
        return np.mean([np.exp(-d2 / (2 * h**2)) for h in bandwidths], axis=0)

    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return (
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * k(x, y).mean()
    )


def test_mmd_matches_the_unbiased_formula():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(17, 3)), rng.normal(size=(11, 3)) + 0.3
    for bw in ([1.0], [0.2, 0.5, 1.0, 2.0]):
        expected = naive_mmd(x, y, bw)
        assert mmd(x, y, bandwidths=bw) == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert mmd(x, y, bandwidths=bw, batch_size=4) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert mmd(x, y) == pytest.approx(mmd(y, x), rel=1e-12)


def test_mmd_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(1000, 2, generator=g), torch.randn(1000, 2, generator=g)
    same = mmd(a, b)
    shifted = mmd(a, b + torch.tensor([0.5, 0.0]))
    assert abs(same) < 1e-3  # ~ ±3·10⁻⁴ across seeds at n = 1000
    assert shifted > 5e-3 and shifted > 10 * abs(same)  # ~ 0.01 across seeds


def test_parzen_protocol_chooses_sigma_on_valid_and_scores_test():
    rng = np.random.default_rng(3)
    samples, valid, test = rng.normal(size=(60, 3)), rng.normal(size=(20, 3)), rng.normal(size=(30, 3))
    result = parzen_protocol(samples, valid, test, batch_size=7)
    sigma = select_parzen_sigma(samples, valid)
    assert result.sigma == sigma
    assert (result.mean, result.std_error) == pytest.approx(parzen_log_likelihood(samples, test, sigma), rel=1e-12)
    assert (result.n_samples, result.n_valid, result.n_test) == (60, 20, 30) and not result.full_protocol
    assert result.as_dict()["full_protocol"] is False and result.seconds >= 0


def test_mnist_parzen_protocol_refuses_samples_that_are_not_mnist_images():
    with pytest.raises(ValueError, match=str(MNIST_FEATURES)):
        mnist_parzen_protocol(np.zeros((10, 64)))
    with pytest.raises(ValueError, match="n_test"):
        mnist_parzen_protocol(np.zeros((10, 784)), n_test=0)


def test_one_import_point_defines_each_metric_once():
    import daekit.metrics as metrics

    for name in metrics.__all__:
        obj = getattr(metrics, name)
        if callable(obj) and hasattr(obj, "__module__"):
            assert obj.__module__.startswith("daekit.metrics."), name
