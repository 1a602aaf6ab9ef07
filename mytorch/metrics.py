"""Classification metrics computed from labels: accuracy, confusion matrix, precision/recall/F1."""

from __future__ import annotations

import numpy as np

from mytorch.validation import check_class_indices, check_positive_int


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Count matrix C with C[i, j] = number of samples of class i predicted as j.

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray
        Integer labels, shape (N,).
    n_classes : int
        Number of classes.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_classes, n_classes).

    Examples
    --------
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2)
    array([[1, 0],
           [1, 1]])
    """
    n_classes = check_positive_int(n_classes, "confusion_matrix", "n_classes")
    y_true = check_class_indices(
        y_true, "confusion_matrix", n_classes=n_classes, n_samples=len(y_true), name="y_true"
    )
    y_pred = check_class_indices(
        y_pred, "confusion_matrix", n_classes=n_classes, n_samples=len(y_true), name="y_pred"
    )
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def precision_recall_f1(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support from a confusion matrix.

    A class never predicted (or never present) gets 0 where the ratio is 0/0, as
    scikit-learn does with ``zero_division=0``.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (float64, shape (C,)) and ``support`` (int64).
    """
    matrix = np.asarray(matrix)
    true_positive = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / np.maximum(predicted, 1), 0.0)
        recall = np.where(actual > 0, true_positive / np.maximum(actual, 1), 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of samples whose prediction equals the label."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"accuracy: expected two non-empty label arrays of one shape, got "
            f"{y_true.shape} and {y_pred.shape}"
        )
    return float(np.mean(y_true == y_pred))
