"""One entry point for every data set: ``load_dataset(name)`` returns a ``Dataset``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mytorch.data import RandomLike, train_val_split
from mytorch.datasets.builtin import load_digits_default
from mytorch.datasets.mnist import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    load_fashion_mnist,
    load_mnist,
)
from mytorch.datasets.tabular import load_csv, load_npz
from mytorch.validation import check_number

_NAMED = ("digits", "mnist", "fashion-mnist")


@dataclass(frozen=True, repr=False, eq=False)
class Dataset:
    """A classification data set split into a training and a test part.

    Attributes
    ----------
    name : str
        ``'digits'``, ``'mnist'``, ``'fashion-mnist'`` or the file's name.
    X_train : numpy.ndarray
        Training inputs, shape (N_train, D) (or (N_train, 28, 28) unflattened), float.
    y_train : numpy.ndarray
        Training labels, shape (N_train,), int64 in [0, n_classes).
    X_test : numpy.ndarray
        Test inputs, shape (N_test, ...), same dtype as ``X_train``.
    y_test : numpy.ndarray
        Test labels, shape (N_test,), int64.
    classes : tuple of str
        Name of each class; ``classes[k]`` names label ``k``.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        """Number of classes C (``len(classes)``)."""
        return len(self.classes)

    @property
    def n_features(self) -> int:
        """Number of input features D per sample (the product of the sample's shape)."""
        return int(np.prod(self.X_train.shape[1:], dtype=np.int64))

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, X_train={self.X_train.shape} {self.X_train.dtype}, "
            f"X_test={self.X_test.shape}, n_classes={self.n_classes})"
        )


def _default_root(name: str) -> Path:
    # MYTORCH_DATA lets a user or CI point every named data set at one shared folder.
    base = os.environ.get("MYTORCH_DATA")
    return (Path(base) if base else Path.home() / ".cache" / "mytorch").expanduser() / name


def load_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
    dtype: np.dtype | type = np.float64,
    flatten: bool = True,
    test_fraction: float = 0.2,
    rng: RandomLike = 0,
    label_column: int | str = -1,
    delimiter: str = ",",
    header: bool | str = "infer",
) -> Dataset:
    """Load a data set by name or path, split into training and test parts.

    Parameters
    ----------
    name : str
        ``'digits'`` (scikit-learn's 8 x 8 digits, the default that needs no files),
        ``'mnist'``, ``'fashion-mnist'``, or the path of a ``.csv`` or ``.npz`` file.
    root : str or os.PathLike or None
        For MNIST and Fashion-MNIST, the directory with the IDX files; ``None`` uses
        ``$MYTORCH_DATA/<name>`` or ``~/.cache/mytorch/<name>``. For a file path that is
        relative, the directory it is relative to. Ignored for ``'digits'``.
    download : bool
        Download missing MNIST / Fashion-MNIST files (needs ``pooch``).
    dtype : numpy dtype
        float64 (default) or float32, for the inputs.
    flatten : bool
        MNIST and Fashion-MNIST: images as (N, 784) rows instead of (N, 28, 28).
    test_fraction : float
        For data without a fixed split (digits, CSV, npz), the share held out for
        testing, in (0, 1); the split is stratified by class.
    rng : numpy.random.Generator or int or None
        Seed of that split. The default ``0`` gives the same test set on every run, so
        results are comparable; ``None`` draws a new split each time.
    label_column, delimiter, header
        Passed to ``load_csv`` for a ``.csv`` file.

    Returns
    -------
    Dataset
        With ``X_train``, ``y_train``, ``X_test``, ``y_test``, ``classes``,
        ``n_classes`` and ``name``. For a CSV or npz file the classes are ``'0'`` to
        ``str(max label)``.

    Raises
    ------
    ValueError
        If ``name`` is neither a known data set nor a ``.csv`` / ``.npz`` path, and for
        the errors of the loader it dispatches to.

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> data.X_train.shape, data.n_classes
    ((1437, 64), 10)
    """
    where = "load_dataset"
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"{where}: expected name to be a str or path, got {name!r}")
    key = str(name).strip().lower().replace("_", "-")
    key = "fashion-mnist" if key == "fashionmnist" else key
    if key in ("mnist", "fashion-mnist"):
        folder = Path(root) if root is not None else _default_root(key)
        loader = load_mnist if key == "mnist" else load_fashion_mnist
        X_train, y_train, X_test, y_test = loader(folder, download, flatten=flatten, dtype=dtype)
        classes = MNIST_CLASSES if key == "mnist" else FASHION_MNIST_CLASSES
        return Dataset(key, X_train, y_train, X_test, y_test, classes)
    if key == "digits":
        X, y = load_digits_default(dtype=dtype)
        display_name = "digits"
    else:
        path = Path(name)
        if root is not None and not path.is_absolute():
            path = Path(root) / path
        suffix = path.suffix.lower()
        if suffix == ".csv":
            X, y = load_csv(path, label_column, delimiter, header, dtype=dtype)
        elif suffix == ".npz":
            X, y = load_npz(path, dtype=dtype)
        else:
            raise ValueError(
                f"{where}: unknown data set {name!r}; expected one of {list(_NAMED)} or the "
                "path of a .csv or .npz file"
            )
        display_name = path.name
    test_fraction = check_number(
        test_fraction,
        where,
        "test_fraction",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    X_train, y_train, X_test, y_test = train_val_split(
        X, y, val_fraction=test_fraction, rng=rng, stratify=True
    )
    classes = tuple(str(label) for label in range(int(y.max()) + 1))
    return Dataset(display_name, X_train, y_train, X_test, y_test, classes)
