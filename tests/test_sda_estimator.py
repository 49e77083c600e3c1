"""scikit-learn's StackedDenoisingAutoencoderClassifier."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from daekit import DenoisingAutoencoder
from daekit.datasets import load_digits_split
from daekit.estimators.sda import StackedDenoisingAutoencoderClassifier as SdA
from daekit.models.stacked import StackedNetwork

PAPER_CELLS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "vincent2010_paper" / "cells"


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run far faster on one thread on a shared machine; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small(**kw):
    base = dict(
        hidden_layer_sizes=(8,), noise_levels=0.1, pretrain_epochs=2, finetune_epochs=5, random_state=0, device="cpu"
    )
    return SdA(**{**base, **kw})


@parametrize_with_checks([small()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_default_noise_is_one_level_for_every_layer_so_any_depth_passes_the_checks():
    est = SdA(hidden_layer_sizes=(8, 8), pretrain_epochs=1, finetune_epochs=3, random_state=0, device="cpu")
    assert est.noise_levels == 0.4 and est._make_config(0).noise_levels == (0.4, 0.4)
    assert SdA(hidden_layer_sizes=(8, 8, 8, 8))._make_config(0).noise_levels == (0.4,) * 4
    check_estimator(est)


def _modal(counts: Counter):
    """The most frequent value, which must be unique."""
    (value, n), *rest = counts.most_common()
    assert not rest or rest[0][1] < n, counts
    return value


def test_estimator_defaults_are_the_paper_grids_most_frequent_choices():
    cells = [json.loads(p.read_text()) for p in sorted(PAPER_CELLS.glob("*/SdA-3.json"))]
    assert len(cells) == 9
    chosen = {key: _modal(Counter(cell["selected"][key] for cell in cells)) for key in cells[0]["selected"]}
    grids = {json.dumps(cell["settings"]["grid"], sort_keys=True) for cell in cells}
    assert len(grids) == 1
    grid = json.loads(grids.pop())
    sda, dae = SdA(), DenoisingAutoencoder()
    assert sda.hidden_layer_sizes == (chosen["width"],) * grid["n_layers"]
    assert sda.noise_levels == dae.noise_level == chosen["noise"]
    assert sda.pretrain_epochs == dae.max_epochs == chosen["pretrain_epochs"]
    assert sda.finetune_learning_rate == chosen["finetune_lr"]
    assert dae.n_components == chosen["width"]
    assert sda.pretrain_learning_rate == dae.learning_rate == grid["pretrain_lr"]
    assert sda.batch_size == dae.batch_size == grid["batch_size"]
    assert (sda.finetune_epochs, sda.patience) == (grid["finetune_epochs"], grid["patience"])
    assert sda.early_stopping and not dae.early_stopping  # fine-tuning stops early, pretraining does not
    assert sda.corruption == dae.corruption == "masking"


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


@pytest.fixture(scope="module")
def fitted(digits):
    x, y, _, _ = digits
    torch.set_num_threads(1)
    return SdA(
        hidden_layer_sizes=(64, 32),
        noise_levels=(0.1, 0.2),
        pretrain_epochs=3,
        pretrain_learning_rate=0.05,
        finetune_epochs=20,
        random_state=0,
        device="cpu",
    ).fit(x, y)


def test_small_fit_on_digits_beats_the_majority_baseline_widely(digits, fitted):
    x, y, xt, yt = digits
    majority = np.mean(yt == np.bincount(y).argmax())
    accuracy = fitted.score(xt, yt)
    assert accuracy > majority + 0.6, (accuracy, majority)
    assert fitted.n_layers_ == 2 and fitted.n_features_in_ == 64
    assert [len(c) for c in fitted.pretrain_curves_] == [3, 3]
    assert all(c[-1] < c[0] for c in fitted.pretrain_curves_)
    assert 1 <= len(fitted.loss_curve_) == len(fitted.validation_scores_) == fitted.n_iter_ <= 20
    assert fitted.best_validation_score_ == max(fitted.validation_scores_)
    assert isinstance(fitted.network_, StackedNetwork)


def test_inference_is_deterministic_and_uses_clean_input(digits, fitted):
    xt = digits[2]
    p1, p2 = fitted.predict_proba(xt), fitted.predict_proba(xt)
    assert np.array_equal(p1, p2) and np.allclose(p1.sum(1), 1)
    assert np.array_equal(fitted.predict(xt), fitted.classes_[p1.argmax(1)])
    h = fitted.transform(xt)
    assert h.shape == (len(xt), 32) and h.dtype == np.float32 and np.array_equal(h, fitted.transform(xt))
    net = fitted.network_
    with torch.no_grad():
        x = torch.as_tensor(xt)
        manual = torch.sigmoid(net.hidden[1](torch.sigmoid(net.hidden[0](x))))
    np.testing.assert_allclose(h, manual.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.log(p1), fitted.predict_log_proba(xt), atol=1e-9)


def test_fixed_random_state_gives_identical_fits(digits):
    x, y, xt, _ = digits
    a = small(hidden_layer_sizes=(16, 16), noise_levels=(0.2, 0.3)).fit(x[:300], y[:300])
    b = clone(a).fit(x[:300], y[:300])
    assert np.array_equal(a.predict_proba(xt), b.predict_proba(xt))
    c = small(hidden_layer_sizes=(16, 16), noise_levels=(0.2, 0.3), random_state=1).fit(x[:300], y[:300])
    assert not np.array_equal(a.predict_proba(xt), c.predict_proba(xt))


def test_string_labels_saa_and_no_pretraining(digits):
    x, y, _, _ = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y[:300]]
    saa = small(noise_levels=0.0).fit(x[:300], names)
    assert set(saa.predict(x[:50])) <= set(names) and list(saa.classes_) == sorted(set(names))
    plain = small(pretrain=False).fit(x[:300], names)
    assert plain.pretrain_curves_ == [] and plain.n_layers_ == 1


def test_pipeline_and_grid_search_over_noise_levels(digits):
    x, y, xt, yt = digits
    pipe = make_pipeline(
        MinMaxScaler(), small(hidden_layer_sizes=(16,), finetune_epochs=20, finetune_learning_rate=0.5)
    )
    key = "stackeddenoisingautoencoderclassifier__noise_levels"
    search = GridSearchCV(pipe, {key: [0.0, 0.3]}, cv=2).fit(x[:400], y[:400])
    assert search.best_params_[key] in (0.0, 0.3) and len(search.cv_results_["params"]) == 2
    assert search.score(xt, yt) > 0.7


def test_tiny_data_and_one_class(digits):
    x, y, _, _ = digits
    tiny = small().fit(x[:3], np.array([0, 1, 1]))
    assert tiny.validation_scores_ is None and tiny.best_validation_score_ is None
    assert tiny.predict(x[:4]).shape == (4,)
    with pytest.raises(ValueError, match="one class"):
        small().fit(x[:10], np.zeros(10))


@pytest.mark.parametrize(
    "params,name",
    [
        (dict(hidden_layer_sizes=(8, 8), noise_levels=(0.1, 0.2, 0.3)), "noise_levels"),
        (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes"),
        (dict(hidden_layer_sizes=()), "hidden_layer_sizes"),
        (dict(noise_levels=-0.5), "noise_levels"),
        (dict(corruption="blur"), "corruption"),
        (dict(corruption=["masking", "gaussian"]), "corruption"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(batch_size=0), "batch_size"),
        (dict(patience=0), "patience"),
        (dict(pretrain_learning_rate=-1.0), "pretrain_learning_rate"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(device="tpu"), "device"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them_in_fit(digits, params, name):
    x, y, _, _ = digits
    est = small(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=name):
        est.fit(x[:40], y[:40])
    assert not hasattr(est, "classes_")
