import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from daekit import DenoisingAutoencoder
from daekit.datasets import load_digits


def small(**kw):
    params = dict(n_components=8, max_epochs=3, batch_size=10, learning_rate=0.01, random_state=0, device="cpu")
    params.update(kw)
    return DenoisingAutoencoder(**params)


@parametrize_with_checks(
    [
        small(),
        small(corruption="gaussian", noise_level=0.1, tied_weights=False),
        small(early_stopping=True, optimizer="adam"),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_fit_transform_shapes_and_attributes(digits):
    X, _ = digits
    dae = small(n_components=16, max_epochs=2, learning_rate=0.1).fit(X)
    assert dae.transform(X).shape == (len(X), 16)
    assert dae.components_.shape == (16, 64)
    assert dae.intercept_hidden_.shape == (16,) and dae.intercept_visible_.shape == (64,)
    assert dae.reconstruction_ == "bernoulli"
    assert len(dae.loss_curve_) == 2 and dae.loss_curve_[1] < dae.loss_curve_[0]
    np.testing.assert_allclose(dae.decoder_components_, dae.components_.T)
    H = dae.transform(X[:5])
    np.testing.assert_allclose(dae.inverse_transform(H), dae.reconstruct(X[:5]), rtol=1e-5, atol=1e-6)
    assert np.all(dae.score_samples(X[:5]) < 0)


def test_bernoulli_rejects_data_outside_unit_interval(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="reconstruction='bernoulli'"):
        small(reconstruction="bernoulli").fit(X * 2 - 0.5)
    assert small().fit(X * 2 - 0.5).reconstruction_ == "gaussian"


@pytest.mark.parametrize(
    "param,value",
    [
        ("n_components", 0),
        ("noise_level", 1.5),
        ("corruption", "blur"),
        ("learning_rate", -1.0),
        ("batch_size", 0),
        ("validation_fraction", 2.0),
    ],
)
def test_bad_parameters_name_the_parameter(digits, param, value):
    X, _ = digits
    with pytest.raises((ValueError, TypeError), match=param):
        small(**{param: value}).fit(X[:50])


def test_pickle_clone_and_determinism(digits):
    X, _ = digits
    a = small().fit(X[:300])
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X[:20]), b.transform(X[:20]))
    c = clone(a).fit(X[:300])
    np.testing.assert_array_equal(a.components_, c.components_)
    assert not hasattr(clone(a), "components_")


def test_partial_fit_accumulates_epochs(digits):
    X, _ = digits
    dae = small()
    dae.partial_fit(X[:200]).partial_fit(X[200:400])
    assert dae.n_iter_ == 2 and len(dae.loss_curve_) == 2
    with pytest.raises(ValueError, match="features"):
        dae.partial_fit(X[:10, :32])


def test_early_stopping_records_validation(digits):
    X, _ = digits
    dae = small(early_stopping=True, max_epochs=4).fit(X)
    assert len(dae.validation_scores_) == dae.n_iter_


def test_pipeline_and_grid_search(digits):
    X, y = digits
    pipe = Pipeline([("dae", small(n_components=32, learning_rate=0.1)), ("clf", LogisticRegression(max_iter=300))])
    grid = GridSearchCV(pipe, {"dae__noise_level": [0.0, 0.25]}, cv=2).fit(X[:600], y[:600])
    assert grid.best_params_["dae__noise_level"] in (0.0, 0.25)
    assert grid.score(X[600:900], y[600:900]) > 0.5
