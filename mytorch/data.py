"""Mini-batches: the ``DataLoader`` and a train/validation split.

The lecture's MINI-BATCH-SGD loop shuffles the data once per epoch and then walks it in
consecutive slices of K samples; the last slice may be shorter (``ceil(n / K)`` batches)
or dropped. ``DataLoader`` is that loop::

    for X_batch, y_batch in DataLoader(X, y, batch_size=K, shuffle=True, rng=0):
        ...  # forward, loss, backward, step

``batch_size=1`` is the notes' stochastic gradient descent (one sample per update) and
``batch_size=len(X)`` is batch gradient descent (one update per epoch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from mytorch.validation import check_number, check_positive_int, describe

RandomLike = np.random.Generator | int | None


def _check_samples(x: Any, where: str, name: str) -> np.ndarray:
    """Check that ``x`` is an ndarray with at least one axis and at least one sample."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{where}: expected {name} to be a numpy.ndarray, got {describe(x)}; "
            "convert it with np.asarray(...) first"
        )
    if x.ndim == 0:
        raise ValueError(
            f"{where}: expected {name} with a sample axis (ndim >= 1), got a 0-D array"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{where}: expected at least one sample, got {name} of shape {x.shape}")
    return x


def _check_pair(X: Any, y: Any, where: str) -> None:
    _check_samples(X, where, "X")
    if y is not None:
        _check_samples(y, where, "y")
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"{where}: X and y must have the same number of samples, "
                f"got X with {X.shape[0]} (shape {X.shape}) and y with {y.shape[0]} "
                f"(shape {y.shape})"
            )


def _permutation_source(rng: Any, where: str) -> Any:
    """Return an object with ``permutation(n)``: a new Generator, or ``rng`` itself.

    Seeds, ``None``, Generators, BitGenerators and SeedSequences go through
    ``np.random.default_rng``. Any other object with a ``permutation`` method (a legacy
    ``np.random.RandomState``, or the ``np.random`` module when the course's handout
    relies on ``np.random.seed``) is used as it is.
    """
    seedable = (int, np.integer, np.random.Generator, np.random.BitGenerator)
    if rng is None or isinstance(rng, (*seedable, np.random.SeedSequence)):
        if isinstance(rng, bool):
            raise TypeError(f"{where}: expected rng to be a Generator, a seed or None, got {rng}")
        return np.random.default_rng(rng)
    if callable(getattr(rng, "permutation", None)):
        return rng
    raise TypeError(
        f"{where}: expected rng to be a numpy.random.Generator, an int seed or None "
        f"(or an object with a permutation(n) method), got {type(rng).__name__}"
    )


def _check_bool(value: Any, where: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: expected {name} to be True or False, got {value!r}")
    return bool(value)


class DataLoader:
    """Iterate over a data set in mini-batches, optionally reshuffled every epoch.

    Parameters
    ----------
    X : numpy.ndarray
        Inputs, shape (N, ...) with samples on the first axis; any dtype (a float32
        array gives float32 batches, uint8 images stay uint8).
    y : numpy.ndarray or None
        Targets, shape (N, ...), e.g. int64 class indices of shape (N,). ``None`` for
        unlabelled data: the loader then yields ``X_batch`` alone instead of a pair.
    batch_size : int
        Samples per batch, K >= 1. ``1`` is stochastic gradient descent, ``N`` is
        full-batch gradient descent.
    shuffle : bool
        Draw a fresh random permutation of the samples at the start of every epoch
        (every call to ``iter``). Without it the batches are consecutive slices in order.
    drop_last : bool
        Drop the last batch if it has fewer than ``batch_size`` samples.
    rng : numpy.random.Generator or int or None
        Source of the permutations: a Generator (used and advanced as is), a seed, or
        ``None`` for fresh OS entropy. A given seed gives the same sequence of epochs.
        Any other object with a ``permutation(n)`` method (``np.random.RandomState``)
        is used as is, for code that must reproduce a legacy seeding.

    Attributes
    ----------
    n_samples : int
        N, the number of samples.

    Raises
    ------
    TypeError
        If ``X`` or ``y`` is not an ndarray, or ``batch_size`` is not an int.
    ValueError
        If X and y differ in length, the data are empty, ``batch_size`` < 1, or
        ``drop_last`` is set with ``batch_size > N`` (an epoch would have no batch).

    Notes
    -----
    Each batch is gathered with one fancy index ``X[idx]`` (a copy) when shuffling and
    is a slice ``X[start:stop]`` (a view, no copy) otherwise: do not modify a batch in
    place if the loader does not shuffle, it is the caller's data.

    ``len(loader)`` is ``ceil(N / K)``, or ``floor(N / K)`` with ``drop_last``.

    Examples
    --------
    >>> X = np.arange(10, dtype=np.float32).reshape(5, 2)
    >>> y = np.array([0, 1, 0, 1, 1])
    >>> loader = DataLoader(X, y, batch_size=2)
    >>> len(loader), [len(yb) for _, yb in loader]
    (3, [2, 2, 1])
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: RandomLike = None,
    ) -> None:
        where = "DataLoader"
        _check_pair(X, y, where)
        batch_size = check_positive_int(batch_size, where, "batch_size")
        shuffle = _check_bool(shuffle, where, "shuffle")
        drop_last = _check_bool(drop_last, where, "drop_last")
        n_samples = X.shape[0]
        if drop_last and batch_size > n_samples:
            raise ValueError(
                f"{where}: batch_size={batch_size} is larger than the {n_samples} samples and "
                "drop_last=True, so every epoch would yield no batch; use a smaller "
                "batch_size or drop_last=False"
            )
        self.X = X
        self.y = y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.n_samples = n_samples
        self.rng = _permutation_source(rng, where)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        """Yield ``(X_batch, y_batch)`` (or ``X_batch`` when ``y`` is None) for one epoch."""
        # The permutation is drawn here, not lazily in the generator, so that each
        # iter() call advances the generator once, in the order the epochs were started.
        order = self.rng.permutation(self.n_samples) if self.shuffle else None
        return self._batches(order)

    def _batches(self, order: np.ndarray | None) -> Iterator[Any]:
        X, y, size = self.X, self.y, self.batch_size
        for start in range(0, len(self) * size, size):
            stop = min(start + size, self.n_samples)
            if order is None:
                index: slice | np.ndarray = slice(start, stop)
            else:
                index = order[start:stop]
            if y is None:
                yield X[index]
            else:
                yield X[index], y[index]

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _stratified_val_indices(y: np.ndarray, n_val: int, rng: Any, where: str) -> np.ndarray:
    """Pick ``n_val`` indices so that each class is represented in proportion to its size."""
    if y.ndim != 1 or y.dtype.kind not in "iub":
        raise TypeError(
            f"{where}: stratify=True needs y to be 1-D integer class labels, got {describe(y)}"
        )
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    # Largest-remainder rounding: every class gets floor(share) and the samples still
    # missing go to the classes with the largest fractional parts, so the total is exact.
    shares = counts * (n_val / y.shape[0])
    quotas = np.floor(shares).astype(np.int64)
    missing = n_val - int(quotas.sum())
    if missing > 0:
        room = quotas < counts
        remainders = np.where(room, shares - quotas, -1.0)
        quotas[np.argsort(-remainders, kind="stable")[:missing]] += 1
    by_class = np.argsort(inverse, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    picks = [
        rng.permutation(by_class[start : start + count])[:quota]
        for start, count, quota in zip(starts, counts, quotas, strict=True)
    ]
    return rng.permutation(np.concatenate(picks))


def train_val_split(
    X: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.1,
    rng: RandomLike = None,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a data set at random into a training part and a validation part.

    Parameters
    ----------
    X : numpy.ndarray
        Inputs, shape (N, ...), any dtype (kept).
    y : numpy.ndarray
        Targets, shape (N, ...). With ``stratify=True`` they must be 1-D integer labels.
    val_fraction : float
        Share of the samples that go to validation, in (0, 1); the validation part has
        ``ceil(val_fraction * N)`` samples, and both parts must end up non-empty.
    rng : numpy.random.Generator or int or None
        Source of the random split; a seed makes it reproducible.
    stratify : bool
        Keep each class's share the same in both parts (to within one sample per class).

    Returns
    -------
    X_train : numpy.ndarray
        Shape (N - n_val, ...), same dtype as ``X``.
    y_train : numpy.ndarray
        Shape (N - n_val, ...), same dtype as ``y``.
    X_val : numpy.ndarray
        Shape (n_val, ...).
    y_val : numpy.ndarray
        Shape (n_val, ...).

    Notes
    -----
    The order is ``(X_train, y_train, X_val, y_val)``, the same as the loaders in
    ``mytorch.datasets`` return, not scikit-learn's ``(X_train, X_test, y_train, y_test)``.
    Every sample lands in exactly one part; both parts are copies in random order.

    Examples
    --------
    >>> X, y = np.zeros((10, 3)), np.arange(10) % 2
    >>> X_tr, y_tr, X_val, y_val = train_val_split(X, y, val_fraction=0.2, rng=0)
    >>> X_tr.shape, X_val.shape
    ((8, 3), (2, 3))
    """
    where = "train_val_split"
    if y is None:
        raise TypeError(f"{where}: expected y to be a numpy.ndarray of targets, got None")
    _check_pair(X, y, where)
    val_fraction = check_number(
        val_fraction,
        where,
        "val_fraction",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    stratify = _check_bool(stratify, where, "stratify")
    n_samples = X.shape[0]
    n_val = math.ceil(val_fraction * n_samples)
    if n_val >= n_samples:
        raise ValueError(
            f"{where}: val_fraction={val_fraction} of {n_samples} samples leaves no sample "
            "for training; use a smaller val_fraction or more data"
        )
    generator = _permutation_source(rng, where)
    if stratify:
        val_index = _stratified_val_indices(y, n_val, generator, where)
        in_val = np.zeros(n_samples, dtype=bool)
        in_val[val_index] = True
        train_index = generator.permutation(np.flatnonzero(~in_val))
    else:
        order = generator.permutation(n_samples)
        val_index, train_index = order[:n_val], order[n_val:]
    return X[train_index], y[train_index], X[val_index], y[val_index]
