"""The one Split type and the one holdout rule."""

import numpy as np
import pytest
import torch

from daekit import DAE, DenoisingObjective, Masking, Split, TrainConfig, fit
from daekit.datasets import hold_out, holdout_size
from daekit.training.batching import OutOfCoreArray


def test_hold_out_takes_the_last_rows_with_their_labels():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    s = hold_out(Split("t", x, y, x_test=x[:2], y_test=y[:2], note="n"), 3)
    np.testing.assert_array_equal(s.x_train, x[:7])
    np.testing.assert_array_equal(s.x_valid, x[7:])
    np.testing.assert_array_equal(s.y_train, y[:7])
    np.testing.assert_array_equal(s.y_valid, y[7:])
    assert s.name == "t" and s.note == "n" and s.x_test is not None
    assert hold_out(s, 5) is s  # a split with a validation set keeps it
    assert hold_out(Split("t", x), 0).x_valid is None


def test_holdout_size_caps_and_refuses_an_empty_training_set():
    assert holdout_size(100, 10_000, max_fraction=0.2) == 20
    assert holdout_size(15, 10_000, max_fraction=0.2) == 3  # 15 // 5, not 2 by float rounding
    assert holdout_size(100, 7) == 7
    with pytest.raises(ValueError, match="valid_size=10 leaves no training examples"):
        holdout_size(10, 10)
    with pytest.raises(ValueError, match="valid_size"):
        holdout_size(10, -1)


def test_hold_out_of_an_out_of_core_array_reads_nothing(tmp_path):
    x = np.random.default_rng(0).random((30, 4), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    s = hold_out(Split("x.npy", OutOfCoreArray(np.load(tmp_path / "x.npy", mmap_mode="r"))), 6)
    assert isinstance(s.x_train, OutOfCoreArray) and s.x_train.shape == (24, 4)
    np.testing.assert_array_equal(s.x_valid.read_rows(0, 6), x[24:])


def test_fit_on_a_split_equals_fit_on_its_arrays():
    x = torch.rand(120, 8, generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(epochs=2, batch_size=10, seed=1, verbose=0)
    a, b = (DAE(8, 4, generator=torch.Generator().manual_seed(2)) for _ in range(2))
    ha = fit(a, DenoisingObjective(Masking(0.2)), Split("x", x[:100], x_valid=x[100:]), cfg)
    hb = fit(b, DenoisingObjective(Masking(0.2)), x[:100], cfg, valid=x[100:])
    assert ha.valid_loss == hb.valid_loss and torch.equal(a.W, b.W)
    with pytest.raises(TypeError, match="Split"):
        fit(a, DenoisingObjective(Masking(0.2)), Split("x", x), cfg, valid=x)


def test_labelled_split_without_validation_labels_is_refused():
    with pytest.raises(ValueError, match="validation labels"):
        Split("t", np.zeros((4, 2)), np.zeros(4), x_valid=np.zeros((2, 2))).valid_arrays()
