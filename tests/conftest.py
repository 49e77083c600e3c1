import os

import pytest
import torch

# Under pytest-xdist each worker gets one thread: two workers with two threads each on a
# 2-core machine oversubscribe the cores and slow every matrix product down many times.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def mnist_available():
    """Real MNIST from $DAEKIT_DATA, or skip."""
    from daekit.datasets import DatasetNotFoundError, load_mnist

    try:
        return load_mnist(download=False, verbose=False)
    except DatasetNotFoundError:
        pytest.skip("MNIST not found; set DAEKIT_DATA to a folder holding mnist/")
