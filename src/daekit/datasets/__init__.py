"""Dataset loaders: MNIST (downloaded and verified) and scikit-learn digits."""

from daekit.datasets.digits import load_digits, load_digits_split
from daekit.datasets.idx import DatasetError, DatasetNotFoundError, read_idx
from daekit.datasets.mnist import (
    MIRRORS,
    MNIST_FILES,
    RESOURCES,
    data_home,
    load_mnist,
)
from daekit.datasets.sources import DataSplit, load_dataset
from daekit.datasets.split import Split, hold_out, holdout_size
from daekit.datasets.variants import VariantData, list_variants, load_variant

__all__ = [
    "MIRRORS",
    "MNIST_FILES",
    "RESOURCES",
    "DatasetError",
    "DatasetNotFoundError",
    "DataSplit",
    "Split",
    "hold_out",
    "holdout_size",
    "load_dataset",
    "data_home",
    "load_digits",
    "load_digits_split",
    "load_mnist",
    "load_variant",
    "list_variants",
    "VariantData",
    "read_idx",
]
