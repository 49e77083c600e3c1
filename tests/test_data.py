import numpy as np
import pytest
import torch

from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit
from daekit.training.batching import OutOfCoreArray, epoch_batches


@pytest.fixture
def npy_file(tmp_path):
    x = np.random.default_rng(0).random((1000, 12), dtype=np.float32)
    path = tmp_path / "x.npy"
    np.save(path, x)
    return x, path


def test_out_of_core_reads_rows_exactly(npy_file):
    x, path = npy_file
    a = OutOfCoreArray(path, chunk_rows=128)
    assert a.shape == (1000, 12) and len(a) == 1000
    np.testing.assert_array_equal(a.read_rows(100, 250), x[100:250])
    b = OutOfCoreArray(np.load(path, mmap_mode="r"))
    np.testing.assert_array_equal(b.read_rows(990, 1000), x[990:])


def test_chunked_epoch_visits_every_row_once_in_shuffled_order(npy_file):
    x, path = npy_file
    labels = np.arange(1000)
    a = OutOfCoreArray(path, chunk_rows=96)
    batches = [
        b
        for b, _, _ in epoch_batches(
            (a, labels), 10, torch.Generator().manual_seed(0), torch.device("cpu"), torch.float32
        )
    ]
    seen = torch.cat([b[1] for b in batches]).numpy()
    assert sorted(seen.tolist()) == list(range(1000))
    assert not np.array_equal(seen, labels)  # shuffled
    rows = torch.cat([b[0] for b in batches]).numpy()
    np.testing.assert_array_equal(rows, x[seen])  # rows stay aligned with their labels


def test_fit_from_memmap_trains_and_is_reproducible(npy_file):
    x, path = npy_file
    weights = []
    for source in (np.load(path, mmap_mode="r"), OutOfCoreArray(path)):
        m = DAE(12, 5, generator=torch.Generator().manual_seed(0))
        h = fit(
            m, DenoisingObjective(Masking(0.2)), source, TrainConfig(epochs=3, batch_size=20, verbose=0), valid=x[:100]
        )
        assert h.train_loss[-1] < h.train_loss[0]
        weights.append(m.W.detach().clone())
    assert torch.equal(weights[0], weights[1])


def test_truncated_file_is_rejected(npy_file, tmp_path):
    _, path = npy_file
    data = path.read_bytes()
    bad = tmp_path / "bad.npy"
    bad.write_bytes(data[:-100])
    with pytest.raises(ValueError, match="truncated"):
        OutOfCoreArray(bad)
