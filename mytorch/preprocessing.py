"""Input pre-processing fitted on the training set: centring, scaling, PCA, whitening.

The lecture slides (001, "Data preprocessing") show, in this order::

    X - X.mean(axis = 0)         # zero-centered data: ZeroCenter
    X / np.std(X, axis = 0)      # normalized data (of the centred X): Standardize
    # "PCA, whitening"           # a picture's title, no formula: PCA, Whitening

The slides give no formula for PCA or whitening; the ones here are MyTorch's choice,
the usual ones (scikit-learn's): PCA rotates the centred data onto the eigenvectors of
its covariance and may keep the first k; whitening then divides each coordinate by its
standard deviation (ZCA whitening also rotates back).

Each step is an object in scikit-learn's style: the settings go to ``__init__``,
``fit(X_train)`` learns the statistics (attributes ending in ``_``) and returns the
object, ``transform`` applies them to any data (validation, test) and
``inverse_transform`` undoes them where that is possible. Fit on the training data only:
statistics computed on the test set leak it into the model.

Conventions
-----------
* Inputs are 2-D float arrays (N, D); float32 in gives float32 out, float64 gives float64.
  Statistics are computed in float64 whatever the input, and cast to the input's dtype
  when applied.
* ``Standardize`` divides by the population standard deviation (``ddof=0``), as the
  slides' ``np.std`` and scikit-learn's ``StandardScaler`` do. ``PCA`` and ``Whitening`` use the
  sample covariance (``ddof=1``), as ``np.cov`` and scikit-learn's ``PCA`` do, so
  ``PCA(whiten=True)`` matches ``sklearn.decomposition.PCA(whiten=True)``.
* Eigenvectors have a fixed sign: the entry of largest magnitude of each is positive
  (MyTorch's choice, so that a fit is reproducible).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.underflow import quiet_underflow
from mytorch.validation import check_float_array, check_number, check_positive_int


def _check_input(transformer: Any, method: str, X: Any, fitted: bool) -> np.ndarray:
    """Validate ``X`` for ``fit`` (``fitted=False``) or for a fitted transform."""
    where = f"{type(transformer).__name__}.{method}"
    if fitted and getattr(transformer, "mean_", None) is None:
        raise RuntimeError(f"{where}: called before fit(); call fit(X_train) first")
    features = transformer.n_features_in_ if fitted else None
    return check_float_array(X, where, ndim=2, features=features, name="X")


@quiet_underflow.wrap
def _fit_eigenbasis(X: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, eigenvalues (descending) and eigenvectors (rows) of the sample covariance.

    Returns float64 arrays of shapes (D,), (D,) and (D, D).
    """
    n_samples = X.shape[0]
    if n_samples < 2:
        raise ValueError(
            f"{where}: needs at least 2 samples to estimate a covariance, got X of shape {X.shape}"
        )
    X64 = X.astype(np.float64)
    mean = X64.mean(axis=0)
    X64 -= mean
    covariance = (X64.T @ X64) / (n_samples - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    # eigh returns ascending order; PCA wants the largest variance first.
    eigenvalues = eigenvalues[::-1]
    components = eigenvectors[:, ::-1].T
    # Round-off can leave tiny negative eigenvalues of a positive semi-definite matrix.
    np.maximum(eigenvalues, 0.0, out=eigenvalues)
    largest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), largest])
    components *= signs[:, None]
    return mean, eigenvalues, np.ascontiguousarray(components)


class ZeroCenter:
    """Subtract the per-feature mean of the training data (the slides' zero-centring).

    Attributes
    ----------
    mean_ : numpy.ndarray
        Per-feature mean of the training data, shape (D,), float64.
    n_features_in_ : int
        D, the number of features seen by ``fit``.

    Notes
    -----
    Shape: input (N, D) float32 or float64; output (N, D), same dtype.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> ZeroCenter().fit_transform(X)
    array([[-1., -2.],
           [ 1.,  2.]])
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.n_features_in_: int | None = None

    @quiet_underflow.wrap
    def fit(self, X: np.ndarray) -> ZeroCenter:
        """Learn the per-feature mean of ``X`` (N, D) and return ``self``."""
        X = _check_input(self, "fit", X, fitted=False)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        return self

    @quiet_underflow.wrap
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X - mean_``, shape (N, D), dtype of ``X``."""
        X = _check_input(self, "transform", X, fitted=True)
        return X - self.mean_.astype(X.dtype)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    @quiet_underflow.wrap
    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X + mean_``, shape (N, D), dtype of ``X``."""
        X = _check_input(self, "inverse_transform", X, fitted=True)
        return X + self.mean_.astype(X.dtype)


class Standardize:
    """Scale each feature to zero mean and unit variance (the slides' normalized data).

    Parameters
    ----------
    eps : float
        Features whose standard deviation is at most ``eps`` are treated as constant:
        they are centred but not scaled (scale 1), instead of being divided by ~0.

    Attributes
    ----------
    mean_ : numpy.ndarray
        Per-feature mean of the training data, shape (D,), float64.
    scale_ : numpy.ndarray
        Per-feature divisor, shape (D,), float64: the population standard deviation
        (``ddof=0``), or 1 for constant features.
    n_features_in_ : int
        D.

    Notes
    -----
    Shape: input (N, D) float32 or float64; output (N, D), same dtype.

    Examples
    --------
    >>> X = np.array([[0.0, 5.0], [2.0, 5.0]])
    >>> Standardize().fit_transform(X)
    array([[-1.,  0.],
           [ 1.,  0.]])
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = eps
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.n_features_in_: int | None = None

    @quiet_underflow.wrap
    def fit(self, X: np.ndarray) -> Standardize:
        """Learn the per-feature mean and standard deviation of ``X`` (N, D); return ``self``."""
        eps = check_number(self.eps, "Standardize.fit", "eps", low=0.0)
        X = _check_input(self, "fit", X, fitted=False)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        self.scale_ = np.where(std > eps, std, 1.0)
        self.n_features_in_ = X.shape[1]
        return self

    @quiet_underflow.wrap
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``(X - mean_) / scale_``, shape (N, D), dtype of ``X``."""
        X = _check_input(self, "transform", X, fitted=True)
        return (X - self.mean_.astype(X.dtype)) / self.scale_.astype(X.dtype)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    @quiet_underflow.wrap
    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X * scale_ + mean_``, shape (N, D), dtype of ``X``."""
        X = _check_input(self, "inverse_transform", X, fitted=True)
        return X * self.scale_.astype(X.dtype) + self.mean_.astype(X.dtype)


class PCA:
    """Principal component analysis: project centred data onto the top-k eigenvectors.

    Parameters
    ----------
    n_components : int or float or None
        How many components to keep: ``None`` keeps all ``min(N, D)``; an int k keeps the
        first k (1 <= k <= min(N, D)); a float in (0, 1) keeps the fewest components
        whose explained variance ratio sums to more than that fraction (0.99: 99 %).
    whiten : bool
        Divide each projected coordinate by its standard deviation, so the output has
        identity covariance (the slides' "whitening", which they do not spell out).

    Attributes
    ----------
    mean_ : numpy.ndarray
        Per-feature mean of the training data, shape (D,), float64.
    components_ : numpy.ndarray
        Principal axes as rows, shape (k, D), float64, orthonormal, by decreasing variance.
    explained_variance_ : numpy.ndarray
        Variance of the training data along each axis (eigenvalues of the sample
        covariance, ``ddof=1``), shape (k,), float64.
    explained_variance_ratio_ : numpy.ndarray
        ``explained_variance_`` divided by the total variance, shape (k,).
    n_components_ : int
        k, the number of components kept.
    n_features_in_ : int
        D.

    Raises
    ------
    ValueError
        From ``fit`` if ``n_components`` is out of range, or if ``whiten=True`` and a
        kept component has (numerically) zero variance: whitening it would divide by 0.
        Keep fewer components or use ``Whitening(eps=...)``, which regularises.

    Notes
    -----
    Shape: input (N, D) float32 or float64; output (N, k), same dtype.

    With centred data :math:`X_c = X - \\mu` and the eigen-decomposition of the sample
    covariance :math:`C = X_c^T X_c / (N - 1) = U \\Lambda U^T`, the transform is
    :math:`Z = X_c U_k`, and with whitening :math:`Z = X_c U_k \\Lambda_k^{-1/2}`.
    The eigenvectors are computed in float64 with ``numpy.linalg.eigh``.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> PCA(n_components=2).fit_transform(X).shape
    (100, 2)
    """

    def __init__(self, n_components: int | float | None = None, whiten: bool = False) -> None:
        self.n_components = n_components
        self.whiten = whiten
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self.explained_variance_: np.ndarray | None = None
        self.explained_variance_ratio_: np.ndarray | None = None
        self.n_components_: int | None = None
        self.n_features_in_: int | None = None

    def _resolve_n_components(self, ratio: np.ndarray, limit: int) -> int:
        where = "PCA.fit"
        wanted = self.n_components
        if wanted is None:
            return limit
        if isinstance(wanted, (float, np.floating)):
            fraction = check_number(
                wanted,
                where,
                "n_components (a fraction of the variance)",
                low=0.0,
                high=1.0,
                low_inclusive=False,
                high_inclusive=False,
            )
            # Same rule as scikit-learn: the first k whose cumulative ratio exceeds it.
            cumulative = np.cumsum(ratio)
            return min(int(np.searchsorted(cumulative, fraction, side="right")) + 1, limit)
        count = check_positive_int(wanted, where, "n_components")
        if count > limit:
            raise ValueError(
                f"{where}: n_components={count} is more than min(n_samples, n_features) = "
                f"{limit}; use at most {limit}, a float fraction, or None"
            )
        return count

    @quiet_underflow.wrap
    def fit(self, X: np.ndarray) -> PCA:
        """Learn the mean and principal axes of ``X`` (N, D); return ``self``."""
        where = "PCA.fit"
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise TypeError(f"{where}: expected whiten to be True or False, got {self.whiten!r}")
        X = _check_input(self, "fit", X, fitted=False)
        mean, eigenvalues, components = _fit_eigenbasis(X, where)
        total = eigenvalues.sum()
        ratio = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
        k = self._resolve_n_components(ratio, min(X.shape))
        if self.whiten:
            # Variance below round-off level of the largest one is zero in disguise.
            floor = eigenvalues[0] * X.shape[1] * np.finfo(np.float64).eps
            if eigenvalues[k - 1] <= floor:
                bad = int(np.argmax(eigenvalues[:k] <= floor))
                raise ValueError(
                    f"{where}: cannot whiten component {bad} of {k}: its variance "
                    f"{eigenvalues[bad]:.3g} is numerically zero; keep fewer components "
                    f"(n_components={bad} or a fraction such as 0.99) or use "
                    "Whitening(eps=...)"
                )
        self.mean_ = mean
        self.components_ = components[:k]
        self.explained_variance_ = eigenvalues[:k]
        self.explained_variance_ratio_ = ratio[:k]
        self.n_components_ = k
        self.n_features_in_ = X.shape[1]
        return self

    @quiet_underflow.wrap
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project ``X`` (N, D) onto the principal axes: (N, k), dtype of ``X``."""
        X = _check_input(self, "transform", X, fitted=True)
        projection = self.components_.T
        if self.whiten:
            projection = projection / np.sqrt(self.explained_variance_)
        return (X - self.mean_.astype(X.dtype)) @ projection.astype(X.dtype)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    @quiet_underflow.wrap
    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Map coordinates ``Z`` (N, k) back to feature space (N, D), dtype of ``Z``.

        Exact when all components were kept; otherwise the projection of the original
        data onto the span of the kept axes (the discarded variance is lost).
        """
        where = "PCA.inverse_transform"
        if self.mean_ is None:
            raise RuntimeError(f"{where}: called before fit(); call fit(X_train) first")
        Z = check_float_array(Z, where, ndim=2, features=self.n_components_, name="Z")
        back = self.components_
        if self.whiten:
            back = np.sqrt(self.explained_variance_)[:, None] * back
        return Z @ back.astype(Z.dtype) + self.mean_.astype(Z.dtype)


class Whitening:
    """Decorrelate the features and give each unit variance: PCA or ZCA whitening.

    Parameters
    ----------
    method : {'pca', 'zca'}
        ``'pca'``: rotate onto the eigenvectors and scale, :math:`Z = X_c U (\\Lambda +
        \\epsilon)^{-1/2}`. ``'zca'``: then rotate back,
        :math:`Z = X_c U (\\Lambda + \\epsilon)^{-1/2} U^T`, the whitened data closest to
        the original (for images it still looks like an image, with edges enhanced).
    eps : float
        Added to every eigenvalue before the square root (1e-5 by default, MyTorch's
        choice: the documents give no value): it keeps
        directions with ~0 variance from blowing up, at the price of an output
        covariance of :math:`\\Lambda / (\\Lambda + \\epsilon)` instead of exactly I. Its
        scale is that of the data's variances.

    Attributes
    ----------
    mean_ : numpy.ndarray
        Per-feature mean of the training data, shape (D,), float64.
    components_ : numpy.ndarray
        Eigenvectors of the sample covariance (``ddof=1``) as rows, shape (D, D), float64,
        by decreasing eigenvalue.
    explained_variance_ : numpy.ndarray
        The eigenvalues, shape (D,), float64, decreasing.
    whitening_matrix_ : numpy.ndarray
        W, shape (D, D), float64: ``transform(X) = (X - mean_) @ W``.
    dewhitening_matrix_ : numpy.ndarray
        The inverse of W, shape (D, D), float64.
    n_features_in_ : int
        D.

    Notes
    -----
    Shape: input (N, D) float32 or float64; output (N, D), same dtype.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(500, 3)) @ np.array(
    ...     [[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.5, 3.0]])
    >>> Z = Whitening("zca", eps=0.0).fit_transform(X)
    >>> np.allclose(np.cov(Z, rowvar=False), np.eye(3))
    True
    """

    _METHODS = ("pca", "zca")

    def __init__(self, method: str = "zca", eps: float = 1e-5) -> None:
        self.method = method
        self.eps = eps
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self.explained_variance_: np.ndarray | None = None
        self.whitening_matrix_: np.ndarray | None = None
        self.dewhitening_matrix_: np.ndarray | None = None
        self.n_features_in_: int | None = None

    @quiet_underflow.wrap
    def fit(self, X: np.ndarray) -> Whitening:
        """Learn the mean and whitening matrix of ``X`` (N, D); return ``self``."""
        where = "Whitening.fit"
        if self.method not in self._METHODS:
            raise ValueError(f"{where}: expected method 'pca' or 'zca', got {self.method!r}")
        eps = check_number(self.eps, where, "eps", low=0.0)
        X = _check_input(self, "fit", X, fitted=False)
        mean, eigenvalues, components = _fit_eigenbasis(X, where)
        scaled = eigenvalues + eps
        floor = eigenvalues[0] * X.shape[1] * np.finfo(np.float64).eps
        if scaled[-1] <= floor:
            raise ValueError(
                f"{where}: the covariance is singular ({int(np.sum(scaled <= floor))} of "
                f"{X.shape[1]} directions have ~0 variance) and eps={eps} does not "
                "regularise it; use eps > 0 (the default is 1e-5)"
            )
        root = np.sqrt(scaled)
        whitening = components.T / root
        dewhitening = root[:, None] * components
        if self.method == "zca":
            whitening = whitening @ components
            dewhitening = components.T @ dewhitening
        self.mean_ = mean
        self.components_ = components
        self.explained_variance_ = eigenvalues
        self.whitening_matrix_ = whitening
        self.dewhitening_matrix_ = dewhitening
        self.n_features_in_ = X.shape[1]
        return self

    @quiet_underflow.wrap
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``(X - mean_) @ whitening_matrix_``, shape (N, D), dtype of ``X``."""
        X = _check_input(self, "transform", X, fitted=True)
        return (X - self.mean_.astype(X.dtype)) @ self.whitening_matrix_.astype(X.dtype)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    @quiet_underflow.wrap
    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Return ``Z @ dewhitening_matrix_ + mean_``, shape (N, D), dtype of ``Z``."""
        Z = _check_input(self, "inverse_transform", Z, fitted=True)
        return Z @ self.dewhitening_matrix_.astype(Z.dtype) + self.mean_.astype(Z.dtype)
