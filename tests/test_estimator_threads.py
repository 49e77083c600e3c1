"""The scikit-learn estimators train with one torch thread inside joblib workers
(``GridSearchCV(n_jobs=k)``) and leave torch's thread count alone elsewhere."""

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed, parallel_config
from sklearn.model_selection import GridSearchCV

import daekit.estimators.dae as dae_module
import daekit.estimators.sda as sda_module
from daekit.estimators import DenoisingAutoencoder, StackedDenoisingAutoencoderClassifier


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def _recording(monkeypatch, module, name):
    seen = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return seen


def _data():
    rng = np.random.default_rng(0)
    x = rng.random((60, 12)).astype(np.float32)
    return x, (x[:, 0] > 0.5).astype(int)


def test_grid_search_fits_use_one_torch_thread_each(two_threads, monkeypatch):
    seen = _recording(monkeypatch, sda_module, "train_stacked")
    x, y = _data()
    sda = StackedDenoisingAutoencoderClassifier(
        hidden_layer_sizes=(6,), noise_levels=(0.2,), pretrain_epochs=1, finetune_epochs=2, random_state=0
    )
    with parallel_config(backend="threading"):  # in process, so that the recording sees the workers
        GridSearchCV(sda, {"finetune_learning_rate": [0.05, 0.1]}, cv=2, n_jobs=2).fit(x, y)
    assert len(seen) == 2 * 2 + 1 and seen[:4] == [1, 1, 1, 1]  # 2 settings × 2 folds in workers


def test_dae_fits_in_joblib_workers_and_outside(two_threads, monkeypatch):
    seen = _recording(monkeypatch, dae_module, "fit")
    x, _ = _data()
    dae = DenoisingAutoencoder(n_components=5, max_epochs=1, random_state=0)
    Parallel(n_jobs=2, backend="threading")(delayed(dae.fit)(x) for _ in range(3))
    assert seen == [1, 1, 1]
    # (OpenMP keeps a thread count per thread, so the caller's may have followed its workers')
    torch.set_num_threads(2)
    Parallel(n_jobs=1)(delayed(dae.partial_fit)(x) for _ in range(2))  # sequential: not a worker
    dae.fit(x)
    assert seen[3:] == [2, 2, 2]
