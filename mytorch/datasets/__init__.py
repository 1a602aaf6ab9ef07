"""Data sets as NumPy arrays: MNIST, Fashion-MNIST, scikit-learn's digits, CSV and npz.

Modules
-------
idx
    ``read_idx``: the IDX file format, checked byte for byte.
mnist
    ``load_mnist``, ``load_fashion_mnist``: the four IDX files, hash-checked, downloadable.
builtin
    ``load_digits_default``: scikit-learn's bundled 8 x 8 digits, no download.
tabular
    ``load_csv``, ``load_npz``: your own data.
dataset
    ``load_dataset``: one entry point by name or path, returning a ``Dataset``.

Only NumPy is needed to import this package; ``pooch`` (downloads) and scikit-learn
(digits) are imported when a function needs them.
"""

from mytorch.datasets.builtin import load_digits_default
from mytorch.datasets.dataset import Dataset, load_dataset
from mytorch.datasets.idx import read_idx
from mytorch.datasets.mnist import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    load_fashion_mnist,
    load_mnist,
)
from mytorch.datasets.tabular import load_csv, load_npz

__all__ = [
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "Dataset",
    "load_csv",
    "load_dataset",
    "load_digits_default",
    "load_fashion_mnist",
    "load_mnist",
    "load_npz",
    "read_idx",
]
