import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from daekit.estimators import DenoisingImputer


def low_rank(n=300, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) @ rng.normal(size=(2, d)) + 0.1 * rng.normal(size=(n, d))
    holes = X.copy()
    holes[rng.uniform(size=X.shape) < 0.2] = np.nan
    return X, holes


def test_check_estimator_non_default_params():
    est = DenoisingImputer(
        n_components=5,
        max_epochs=3,
        max_iter=2,
        add_indicator=True,
        corruption="swap",
        noise_level=0.3,
        random_state=0,
        device="cpu",
    )
    failed = [r for r in check_estimator(est, on_fail=None) if r["status"] == "failed"]
    assert not failed, [(r["check_name"], r["exception"]) for r in failed]


def test_observed_entries_unchanged_bit_for_bit_and_missing_filled_well():
    X, holes = low_rank()
    imp = DenoisingImputer(n_components=16, max_epochs=80, random_state=0).fit(holes)
    out = imp.transform(holes)
    seen = ~np.isnan(holes)
    assert np.array_equal(out[seen], holes[seen])  # the same bits
    assert np.isfinite(out).all()
    rmse = np.sqrt(np.mean((out[~seen] - X[~seen]) ** 2))
    mean_rmse = np.sqrt(np.mean((np.nanmean(holes, 0)[np.nonzero(~seen)[1]] - X[~seen]) ** 2))
    assert rmse < 0.5 * mean_rmse  # the columns' dependence is used


def test_multiple_imputations_differ_only_on_missing_entries_and_cover_truth():
    X, holes = low_rank()
    imp = DenoisingImputer(n_components=16, max_epochs=80, n_imputations=20, random_state=0).fit(holes)
    draws = np.stack(imp.multiple_imputations(holes))
    seen = ~np.isnan(holes)
    assert draws.shape == (20,) + X.shape
    assert np.all(draws[:, seen] == holes[seen])
    assert np.all(draws[:, ~seen].std(0) > 0)
    lo, hi = np.percentile(draws[:, ~seen], [5, 95], axis=0)
    coverage = np.mean((X[~seen] >= lo) & (X[~seen] <= hi))
    assert 0.7 < coverage < 0.99
    one = DenoisingImputer(n_components=16, max_epochs=80, sample_posterior=True, random_state=0).fit(holes)
    np.testing.assert_array_equal(one.transform(holes), one.transform(holes))


def test_missing_values_placeholder_and_indicator():
    _, holes = low_rank(n=80)
    coded = np.where(np.isnan(holes), -1.0, holes)
    imp = DenoisingImputer(missing_values=-1.0, add_indicator=True, max_epochs=3, random_state=0).fit(coded)
    out = imp.transform(coded)
    assert out.shape == (80, 16)
    np.testing.assert_array_equal(out[:, 8:], np.isnan(holes).astype(float))
    assert list(imp.get_feature_names_out()[8:10]) == ["missingindicator_x0", "missingindicator_x1"]


def test_all_missing_column_is_named():
    _, holes = low_rank(n=40)
    holes[:, 3] = np.nan
    with pytest.raises(ValueError, match="'x3' has no observed value"):
        DenoisingImputer(max_epochs=1).fit(holes)
