"""Input features of 2-D points: x1, x2 and the products and sines a network may be given.

TensorFlow Playground lets a learner feed a network more than the raw coordinates: with
x1^2 and x2^2 among its inputs a network *without* a hidden layer separates the circles
(a circle is a line in those coordinates), and with x1 x2 it separates XOR. The feature
map is part of the model: a saved model records the names (its metadata's
``"features"``) and ``mytorch predict`` / ``evaluate`` apply them to raw points.

Names are plain words so that they pass through a shell unquoted
(``mytorch toy --features x1 x2 x1_sq``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mytorch.validation import check_float_array

__all__ = ["FEATURES", "RAW_FEATURES", "check_features", "feature_map"]

#: Every feature by name: a function of the columns x1, x2 (each (N,)), and how the
#: page writes it.
FEATURES: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str]] = {
    "x1": (lambda x1, x2: x1, "x1"),
    "x2": (lambda x1, x2: x2, "x2"),
    "x1_sq": (lambda x1, x2: x1 * x1, "x1²"),
    "x2_sq": (lambda x1, x2: x2 * x2, "x2²"),
    "x1_x2": (lambda x1, x2: x1 * x2, "x1·x2"),
    "sin_x1": (lambda x1, x2: np.sin(x1), "sin(x1)"),
    "sin_x2": (lambda x1, x2: np.sin(x2), "sin(x2)"),
}
#: The identity map: a model of the raw coordinates.
RAW_FEATURES = ("x1", "x2")


def check_features(names: Sequence[str], where: str) -> list[str]:
    """Check a list of feature names: known, none twice, at least one.

    Returns
    -------
    list of str
        The names, as a list.

    Raises
    ------
    ValueError
        Naming ``where``, what was expected and what came.
    """
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"{where}: expected a list of feature names, got {names!r}")
    names = list(names)
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise ValueError(f"{where}: unknown features {unknown}; expected some of {list(FEATURES)}")
    if not names or len(set(names)) != len(names):
        raise ValueError(f"{where}: expected at least one feature, each once, got {names}")
    return names


def feature_map(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The features ``names`` of the 2-D points ``X``, one column each, in that order.

    Parameters
    ----------
    X : numpy.ndarray
        Points, shape (N, 2), float.
    names : sequence of str
        Keys of :data:`FEATURES`.

    Returns
    -------
    numpy.ndarray
        Shape (N, len(names)), ``X``'s dtype.

    Raises
    ------
    ValueError
        If ``X`` is not (N, 2) floats or a name is unknown.

    Examples
    --------
    >>> feature_map(np.array([[2.0, -1.0]]), ["x1", "x1_sq", "x1_x2"])
    array([[ 2.,  4., -2.]])
    """
    names = check_features(names, "feature_map")
    X = check_float_array(X, "feature_map", ndim=2, name="points")
    if X.shape[1] != 2:
        raise ValueError(f"feature_map: expected points of shape (N, 2) (x1, x2), got {X.shape}")
    x1, x2 = X[:, 0], X[:, 1]
    columns = [FEATURES[name][0](x1, x2) for name in names]
    return np.ascontiguousarray(np.column_stack(columns), dtype=X.dtype)
