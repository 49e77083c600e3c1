import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import check_estimator

from daekit.estimators import DenoisingAutoencoderOutlierDetector


def blobs(n=300, d=6, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    return z @ rng.normal(size=(2, d)) + 0.05 * rng.normal(size=(n, d)), rng


def test_check_estimator_non_default_params():
    est = DenoisingAutoencoderOutlierDetector(
        n_components=3,
        max_epochs=3,
        outlier_score="score_norm",
        n_draws=2,
        corruption="swap",
        noise_level=0.2,
        contamination=0.1,
        random_state=0,
        device="cpu",
    )
    failed = [r for r in check_estimator(est, on_fail=None) if r["status"] == "failed"]
    assert not failed, [(r["check_name"], r["exception"]) for r in failed]


@pytest.mark.parametrize("score", ["reconstruction", "score_norm", "energy"])
def test_off_manifold_rows_score_lower_and_predict_is_sign_of_decision(score):
    X, rng = blobs()
    det = DenoisingAutoencoderOutlierDetector(
        n_components=2, outlier_score=score, n_draws=3, max_epochs=60, random_state=0
    ).fit(X)
    outliers = rng.normal(size=(40, X.shape[1])) * X.std(0) * 3
    s_in, s_out = det.score_samples(X[:100]), det.score_samples(outliers)
    auc = (s_in[:, None] > s_out[None, :]).mean()
    assert auc > 0.9
    both = np.vstack([X, outliers])
    dec = det.decision_function(both)
    np.testing.assert_allclose(dec, det.score_samples(both) - det.offset_)
    np.testing.assert_array_equal(det.predict(both), np.where(dec < 0, -1, 1))


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.2])
def test_contamination_sets_the_flagged_share_of_training_rows(contamination):
    X, _ = blobs(n=400)
    det = DenoisingAutoencoderOutlierDetector(contamination=contamination, max_epochs=5, random_state=0).fit(X)
    share = float(np.mean(det.predict(X) == -1))
    assert abs(share - contamination) <= 0.02


def test_auto_contamination_is_tukeys_fence_and_scores_are_deterministic():
    X, _ = blobs()
    det = DenoisingAutoencoderOutlierDetector(max_epochs=5, n_draws=4, random_state=1).fit(X)
    s = det.score_samples(X)
    q1, q3 = np.percentile(s, [25, 75])
    assert det.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    np.testing.assert_array_equal(s[:50], det.score_samples(X[:50]))  # no dependence on the batch
    again = DenoisingAutoencoderOutlierDetector(max_epochs=5, n_draws=4, random_state=1).fit(X)
    np.testing.assert_array_equal(s, again.score_samples(X))


def test_unit_interval_inputs_use_bernoulli_and_others_are_standardized():
    X, _ = blobs()
    det = DenoisingAutoencoderOutlierDetector(max_epochs=2, random_state=0).fit(X)
    assert det.reconstruction_ == "gaussian" and det.n_components_ == 2
    np.testing.assert_allclose([c.mean for c in det.encoder_.columns_], X.mean(0), rtol=1e-6, atol=1e-9)
    U = np.random.default_rng(0).uniform(size=(50, 12))
    det = DenoisingAutoencoderOutlierDetector(max_epochs=2, random_state=0).fit(U)
    assert det.reconstruction_ == "bernoulli" and det.n_components_ == 3


def test_energy_is_the_potential_of_the_reconstruction_field():
    """For a tied DAE with a Gaussian reconstruction, −∇E(x) = r(x) − x (Kamyshanska & Memisevic)."""
    X, _ = blobs(n=100, d=4)
    det = DenoisingAutoencoderOutlierDetector(n_components=3, outlier_score="energy", max_epochs=5, random_state=0).fit(
        X
    )
    m = det.model_.double()
    z = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    a = z @ m.W.t() + m.b
    energy = 0.5 * ((z - m.c) ** 2).sum(1) - torch.nn.functional.softplus(a).sum(1)
    (grad,) = torch.autograd.grad(energy.sum(), z)
    torch.testing.assert_close(-grad, m.reconstruct(z) - z)
    m.float()
    Z, _ = det.encoder_.transform(X[:7])
    zt = torch.from_numpy(Z).double()
    with torch.no_grad():
        expect = 0.5 * ((zt - m.c.double()) ** 2).sum(1) - torch.nn.functional.softplus(
            zt @ m.W.double().t() + m.b.double()
        ).sum(1)
    np.testing.assert_allclose(det.score_samples(X[:7]), -expect.numpy(), rtol=1e-4, atol=1e-4)


def test_bad_parameters_raise():
    X, _ = blobs(n=50)
    with pytest.raises(ValueError, match="contamination"):
        DenoisingAutoencoderOutlierDetector(contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="tied_weights"):
        DenoisingAutoencoderOutlierDetector(outlier_score="energy", tied_weights=False).fit(X)


def test_score_norm_is_the_distance_to_the_reconstruction_mean():
    U = np.random.default_rng(0).uniform(size=(80, 12))
    det = DenoisingAutoencoderOutlierDetector(max_epochs=2, random_state=0).fit(U)
    assert det.outlier_score == "score_norm" and det.reconstruction_ == "bernoulli"
    with torch.no_grad():
        r = det.model_.reconstruct(torch.from_numpy(U.astype(np.float32))).numpy()
    np.testing.assert_allclose(det.score_samples(U), -np.linalg.norm(r - U.astype(np.float32), axis=1), rtol=1e-5)
