"""Tests for ``mytorch/metrics.py`` against scikit-learn's metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from mytorch.metrics import accuracy, confusion_matrix, precision_recall_f1


def _labels(seed: int, n: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    return y_true, y_pred


def _assert_matches_sklearn(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> None:
    labels = list(range(n_classes))
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    assert matrix.dtype == np.int64 and matrix.shape == (n_classes, n_classes)
    assert np.array_equal(matrix, sk.confusion_matrix(y_true, y_pred, labels=labels))
    scores = precision_recall_f1(matrix)
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    np.testing.assert_allclose(scores["precision"], precision, rtol=1e-12, atol=0)
    np.testing.assert_allclose(scores["recall"], recall, rtol=1e-12, atol=0)
    np.testing.assert_allclose(scores["f1"], f1, rtol=1e-12, atol=0)
    assert np.array_equal(scores["support"], support)
    assert accuracy(y_true, y_pred) == sk.accuracy_score(y_true, y_pred)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_metrics_match_sklearn_on_random_labels(seed, n_classes):
    y_true, y_pred = _labels(seed, 200, n_classes)
    _assert_matches_sklearn(y_true, y_pred, n_classes)


def test_metrics_match_sklearn_when_a_class_is_never_predicted():
    y_true, y_pred = _labels(0, 300, 5)
    y_pred[y_pred == 3] = 4
    assert 3 in y_true and 3 not in y_pred
    _assert_matches_sklearn(y_true, y_pred, 5)
    scores = precision_recall_f1(confusion_matrix(y_true, y_pred, 5))
    assert scores["precision"][3] == 0 and scores["recall"][3] == 0 and scores["f1"][3] == 0


def test_metrics_match_sklearn_when_a_class_is_never_present():
    y_true, y_pred = _labels(1, 300, 6)
    y_true[y_true == 5] = 0
    assert 5 not in y_true and 5 in y_pred
    _assert_matches_sklearn(y_true, y_pred, 6)
    assert precision_recall_f1(confusion_matrix(y_true, y_pred, 6))["support"][5] == 0


def test_metrics_match_sklearn_for_a_class_absent_from_both():
    y_true, y_pred = _labels(2, 100, 3)
    _assert_matches_sklearn(y_true, y_pred, 4)  # class 3 never appears at all


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")  # sklearn's
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), n_classes=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_metrics_match_sklearn_for_any_size(n, n_classes, seed):
    y_true, y_pred = _labels(seed, n, n_classes)
    _assert_matches_sklearn(y_true, y_pred, n_classes)


def test_confusion_matrix_counts_true_rows_predicted_columns():
    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert matrix.sum() == 6


def test_confusion_matrix_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="confusion_matrix"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="confusion_matrix"):
        confusion_matrix(np.array([0, 1]), np.array([0, -1]), 3)


def test_confusion_matrix_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="confusion_matrix"):
        confusion_matrix(np.array([0, 1, 1]), np.array([0, 1]), 2)


def test_confusion_matrix_rejects_a_bad_class_count():
    with pytest.raises((ValueError, TypeError), match="confusion_matrix"):
        confusion_matrix(np.array([0]), np.array([0]), 0)


def test_accuracy_rejects_mismatched_or_empty_labels():
    with pytest.raises(ValueError, match=r"accuracy: expected .* got \(3,\) and \(2,\)"):
        accuracy(np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="accuracy"):
        accuracy(np.array([]), np.array([]))
