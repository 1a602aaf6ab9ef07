"""The recipe for data larger than memory (README, "Ecosystem"): scikit-learn's
``partial_fit`` protocol lets ``dask_ml.wrappers.Incremental`` train MyTorch's
``MLPClassifier`` one block of a chunked Dask array at a time, so only one block is in
memory at once. Here the array is a memory-mapped ``.npy`` file, as the recipe's.

Pinned: dask-ml 2025.1.0 (its last release) with the dask and scikit-learn of the test
extra; tests/test_sklearn.py runs scikit-learn's ``check_estimator`` on the same
estimators.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from dask_ml.wrappers import Incremental

from mytorch.datasets import load_dataset
from mytorch.integrations.sklearn import MLPClassifier

pytestmark = pytest.mark.slow  # importing dask-ml takes seconds

BLOCK_ROWS = 300
EPOCHS = 6


def _estimator() -> MLPClassifier:
    return MLPClassifier((32,), learning_rate_init=0.01, batch_size=50, random_state=0)


def test_incremental_trains_mlpclassifier_block_by_block_on_a_chunked_array(tmp_path):
    data = load_dataset("digits")
    np.save(tmp_path / "X.npy", data.X_train)
    np.save(tmp_path / "y.npy", data.y_train)
    # Memory-mapped: Dask reads one block of rows at a time.
    X = da.from_array(np.load(tmp_path / "X.npy", mmap_mode="r"), chunks=(BLOCK_ROWS, -1))
    y = da.from_array(np.load(tmp_path / "y.npy", mmap_mode="r"), chunks=BLOCK_ROWS)
    classes = np.arange(10)
    model = Incremental(_estimator(), scoring="accuracy", shuffle_blocks=False)
    for _ in range(EPOCHS):
        model.partial_fit(X, y, classes=classes)

    # The same as partial_fit on each block in turn, bit for bit.
    by_hand = _estimator()
    for _ in range(EPOCHS):
        for start in range(0, len(data.X_train), BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            by_hand.partial_fit(data.X_train[rows], data.y_train[rows], classes=classes)
    trained = model.estimator_.model_.state_dict()
    expected = by_hand.model_.state_dict()
    assert list(trained) == list(expected)
    for name in expected:
        assert np.array_equal(trained[name], expected[name]), name
    n_blocks = -(-len(data.X_train) // BLOCK_ROWS)
    assert model.estimator_.n_iter_ == EPOCHS * n_blocks  # one epoch per block

    # Predictions come back as Dask arrays, block by block.
    X_test = da.from_array(data.X_test, chunks=(100, -1))
    predicted = model.predict(X_test)
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), by_hand.predict(data.X_test))
    accuracy = model.score(X_test, da.from_array(data.y_test, chunks=100))
    print(f"\nIncremental MLPClassifier on digits, {EPOCHS} passes: test accuracy {accuracy:.2%}")
    assert accuracy >= 0.85
