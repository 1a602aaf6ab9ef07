"""The default data set that needs no download: scikit-learn's bundled 8 x 8 digits."""

from __future__ import annotations

import numpy as np

from mytorch.validation import check_dtype


def load_digits_default(*, dtype: np.dtype | type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Load the 1797 hand-written digits of 8 x 8 pixels that ship with scikit-learn.

    A small data set (UCI optical digits, test part) that trains in seconds: the default
    for examples and smoke tests. It comes without a train/test split;
    ``load_dataset("digits")`` makes a stratified one.

    Parameters
    ----------
    dtype : numpy dtype
        float64 (default) or float32.

    Returns
    -------
    X : numpy.ndarray
        Shape (1797, 64), ``dtype``: the 8 x 8 images flattened row by row, pixel
        intensities 0-16 scaled to [0, 1].
    y : numpy.ndarray
        Digits 0-9, shape (1797,), int64.

    Raises
    ------
    ImportError
        If scikit-learn is not installed (``pip install mytorch[cli]``).
    TypeError
        If ``dtype`` is not float32 or float64.

    Examples
    --------
    >>> X, y = load_digits_default()
    >>> X.shape, float(X.max()), y[:5]
    ((1797, 64), 1.0, array([0, 1, 2, 3, 4]))
    """
    dtype = check_dtype(dtype, "load_digits_default")
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError(
            "load_digits_default needs the optional package scikit-learn, which bundles the "
            "digits data; install it with `pip install mytorch[cli]` (or "
            "`pip install scikit-learn`)"
        ) from err
    images, labels = load_digits(return_X_y=True)
    # The bundled pixel values are counts of set bits in 4 x 4 blocks: 0 to 16.
    X = (images / 16.0).astype(dtype)
    return X, labels.astype(np.int64)
