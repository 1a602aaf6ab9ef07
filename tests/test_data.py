"""Tests for mytorch/data.py: DataLoader and train_val_split.

The invalid-input cases at the end check that both reject bad data, batch sizes,
fractions and flags with a clear error (table conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from invalid_inputs import NAN, X10, Y10, Case, CaseTable, assert_raises_a_clear_error

from mytorch.data import DataLoader, train_val_split


def _indexed_data(n_samples: int, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """X whose row i is (i, -i), y = i: a batch tells which samples it holds."""
    index = np.arange(n_samples)
    X = np.stack([index, -index], axis=1).astype(dtype)
    return X, index.astype(np.int64)


def _epoch_order(loader: DataLoader) -> np.ndarray:
    return np.concatenate([y_batch for _, y_batch in loader])


# --- DataLoader: coverage, order, batch sizes -------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    n_samples=st.integers(1, 40),
    batch_size=st.integers(1, 50),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_each_epoch_yields_every_sample_exactly_once(n_samples, batch_size, shuffle, seed):
    X, y = _indexed_data(n_samples)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, rng=seed)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader) == math.ceil(n_samples / batch_size)
        assert all(len(xb) == len(yb) for xb, yb in batches)
        assert all(len(yb) == batch_size for _, yb in batches[:-1])
        order = np.concatenate([yb for _, yb in batches])
        np.testing.assert_array_equal(np.sort(order), np.arange(n_samples))
        # X and y stay paired after shuffling.
        np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches])[:, 0], order)


@settings(max_examples=60, deadline=None)
@given(n_samples=st.integers(1, 40), batch_size=st.integers(1, 40), seed=st.integers(0, 1000))
def test_drop_last_yields_only_full_batches_of_distinct_samples(n_samples, batch_size, seed):
    if batch_size > n_samples:
        batch_size = n_samples
    X, y = _indexed_data(n_samples)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, drop_last=True, rng=seed)
    batches = list(loader)
    assert len(batches) == len(loader) == n_samples // batch_size
    assert all(len(yb) == batch_size for _, yb in batches)
    order = np.concatenate([yb for _, yb in batches])
    assert len(np.unique(order)) == len(order) == (n_samples // batch_size) * batch_size


def test_without_shuffle_batches_are_consecutive_views_in_order():
    X, y = _indexed_data(10)
    batches = list(DataLoader(X, y, batch_size=4))
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[1][1], [4, 5, 6, 7])
    assert all(np.shares_memory(xb, X) for xb, _ in batches)


def test_drop_last_without_shuffle_drops_the_short_tail():
    X, y = _indexed_data(10)
    batches = list(DataLoader(X, y, batch_size=4, drop_last=True))
    assert len(batches) == 2
    np.testing.assert_array_equal(_epoch_order(DataLoader(X, y, 4, drop_last=True)), range(8))


def test_batch_size_one_is_single_sample_sgd():
    X, y = _indexed_data(7)
    batches = list(DataLoader(X, y, batch_size=1, shuffle=True, rng=0))
    assert len(batches) == 7
    assert all(xb.shape == (1, 2) and yb.shape == (1,) for xb, yb in batches)


def test_batch_size_n_is_full_batch_descent():
    X, y = _indexed_data(7)
    (only,) = list(DataLoader(X, y, batch_size=7))
    np.testing.assert_array_equal(only[0], X)
    (shuffled,) = list(DataLoader(X, y, batch_size=7, shuffle=True, rng=0))
    np.testing.assert_array_equal(np.sort(shuffled[1]), y)


def test_batch_size_larger_than_data_gives_one_short_batch():
    X, y = _indexed_data(3)
    loader = DataLoader(X, y, batch_size=10)
    assert len(loader) == 1
    assert [len(yb) for _, yb in loader] == [3]


def test_same_seed_gives_same_sequence_of_epochs():
    X, y = _indexed_data(50)
    first = DataLoader(X, y, batch_size=8, shuffle=True, rng=123)
    second = DataLoader(X, y, batch_size=8, shuffle=True, rng=123)
    for _ in range(3):
        np.testing.assert_array_equal(_epoch_order(first), _epoch_order(second))


def test_different_epochs_get_different_orders():
    X, y = _indexed_data(50)
    loader = DataLoader(X, y, batch_size=8, shuffle=True, rng=0)
    orders = [_epoch_order(loader) for _ in range(3)]
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(orders[0], np.arange(50))


def test_different_seeds_give_different_orders():
    X, y = _indexed_data(50)
    order_a = _epoch_order(DataLoader(X, y, batch_size=8, shuffle=True, rng=1))
    order_b = _epoch_order(DataLoader(X, y, batch_size=8, shuffle=True, rng=2))
    assert not np.array_equal(order_a, order_b)


def test_a_passed_generator_is_used_and_advanced():
    X, y = _indexed_data(20)
    generator = np.random.default_rng(5)
    loader = DataLoader(X, y, batch_size=20, shuffle=True, rng=generator)
    assert loader.rng is generator
    expected = np.random.default_rng(5).permutation(20)
    np.testing.assert_array_equal(_epoch_order(loader), expected)


def test_a_legacy_random_state_is_used_as_is():
    X, y = _indexed_data(20)
    loader = DataLoader(X, y, batch_size=20, shuffle=True, rng=np.random.RandomState(3))
    np.testing.assert_array_equal(_epoch_order(loader), np.random.RandomState(3).permutation(20))


@pytest.mark.parametrize("rng", ["seed", 1.5, True])
def test_an_rng_that_cannot_permute_raises_type_error(rng):
    with pytest.raises(TypeError, match="DataLoader: expected rng"):
        DataLoader(np.zeros((5, 2)), batch_size=2, shuffle=True, rng=rng)


def test_float32_batches_stay_float32_and_labels_keep_their_dtype():
    X, y = _indexed_data(9, dtype=np.float32)
    for shuffle in (False, True):
        for xb, yb in DataLoader(X, y, batch_size=4, shuffle=shuffle, rng=0):
            assert xb.dtype == np.float32
            assert yb.dtype == np.int64


def test_without_labels_the_loader_yields_arrays():
    X, _ = _indexed_data(5)
    batches = list(DataLoader(X, batch_size=2))
    assert all(isinstance(batch, np.ndarray) for batch in batches)
    np.testing.assert_array_equal(np.concatenate(batches), X)


def test_images_keep_their_sample_shape():
    X = np.zeros((6, 1, 28, 28), dtype=np.float32)
    shapes = [xb.shape for xb in DataLoader(X, batch_size=4, shuffle=True, rng=0)]
    assert shapes == [(4, 1, 28, 28), (2, 1, 28, 28)]


# --- DataLoader: errors -----------------------------------------------------------------


def test_mismatched_lengths_raise_value_error_naming_both():
    with pytest.raises(ValueError, match=r"DataLoader: X and y .* 5 .* 4"):
        DataLoader(np.zeros((5, 2)), np.zeros(4), batch_size=2)


def test_empty_data_raises_value_error():
    with pytest.raises(ValueError, match="DataLoader: expected at least one sample"):
        DataLoader(np.zeros((0, 3)), np.zeros(0))


@pytest.mark.parametrize("batch_size", [0, -3])
def test_non_positive_batch_size_raises_value_error(batch_size):
    with pytest.raises(ValueError, match="DataLoader: expected batch_size to be a positive int"):
        DataLoader(np.zeros((5, 2)), batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [2.5, "4", None, True])
def test_non_int_batch_size_raises_type_error(batch_size):
    with pytest.raises(TypeError, match="DataLoader: expected batch_size"):
        DataLoader(np.zeros((5, 2)), batch_size=batch_size)


def test_drop_last_with_batch_larger_than_data_raises_instead_of_yielding_nothing():
    with pytest.raises(ValueError, match=r"batch_size=8 is larger than the 5 samples"):
        DataLoader(np.zeros((5, 2)), batch_size=8, drop_last=True)


def test_non_array_input_raises_type_error():
    with pytest.raises(TypeError, match="DataLoader: expected X to be a numpy.ndarray, got list"):
        DataLoader([[1.0, 2.0]], batch_size=1)
    with pytest.raises(TypeError, match="expected y to be a numpy.ndarray"):
        DataLoader(np.zeros((2, 2)), [0, 1], batch_size=1)


def test_non_bool_shuffle_raises_type_error():
    with pytest.raises(TypeError, match="DataLoader: expected shuffle to be True or False"):
        DataLoader(np.zeros((5, 2)), batch_size=2, shuffle="yes")


# --- train_val_split --------------------------------------------------------------------


def test_split_partitions_the_samples_with_ceil_validation_size():
    X, y = _indexed_data(25)
    X_train, y_train, X_val, y_val = train_val_split(X, y, val_fraction=0.1, rng=0)
    assert len(y_val) == 3 and len(y_train) == 22
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_val])), np.arange(25))
    np.testing.assert_array_equal(X_train[:, 0], y_train)
    np.testing.assert_array_equal(X_val[:, 0], y_val)


def test_split_is_reproducible_for_a_seed_and_keeps_dtypes():
    X, y = _indexed_data(40, dtype=np.float32)
    first = train_val_split(X, y, val_fraction=0.25, rng=7)
    second = train_val_split(X, y, val_fraction=0.25, rng=7)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert first[0].dtype == np.float32 and first[1].dtype == np.int64
    other = train_val_split(X, y, val_fraction=0.25, rng=8)
    assert not np.array_equal(first[3], other[3])


def test_stratified_split_keeps_each_class_share():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [60, 30, 10])
    X = rng.normal(size=(100, 4))
    _, y_train, _, y_val = train_val_split(X, y, val_fraction=0.2, rng=0, stratify=True)
    assert len(y_val) == 20
    np.testing.assert_array_equal(np.bincount(y_val, minlength=3), [12, 6, 2])
    np.testing.assert_array_equal(np.bincount(y_train, minlength=3), [48, 24, 8])


def test_stratified_split_with_uneven_shares_has_the_exact_total():
    y = np.repeat(np.arange(4), [7, 5, 3, 2])
    X = np.arange(17, dtype=np.float64)[:, None]
    _, y_train, X_val, y_val = train_val_split(X, y, val_fraction=0.3, rng=1, stratify=True)
    assert len(y_val) == math.ceil(0.3 * 17)
    shares = np.bincount(y_val, minlength=4) - 0.3 * np.array([7, 5, 3, 2])
    assert np.all(np.abs(shares) < 1)
    assert len(np.unique(X_val)) == len(X_val)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_fraction_outside_open_interval_raises(fraction):
    with pytest.raises(ValueError, match=r"train_val_split: expected val_fraction in \(0"):
        train_val_split(np.zeros((10, 2)), np.zeros(10), val_fraction=fraction)


def test_split_that_leaves_no_training_sample_raises():
    with pytest.raises(ValueError, match="leaves no sample for training"):
        train_val_split(np.zeros((2, 2)), np.zeros(2), val_fraction=0.9)


def test_stratify_needs_integer_labels():
    with pytest.raises(TypeError, match="stratify=True needs y to be 1-D integer"):
        train_val_split(np.zeros((10, 2)), np.zeros(10), stratify=True)


def test_split_with_mismatched_lengths_raises():
    with pytest.raises(ValueError, match="train_val_split: X and y must have the same number"):
        train_val_split(np.zeros((10, 2)), np.zeros(9))


# ----------------------------------------------------------------------- invalid inputs
# DataLoader and train_val_split reject bad data, batch sizes, fractions and flags with
# an error naming them (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case

for value, error, pattern in [
    (0, ValueError, "got 0"),
    (-2, ValueError, "got -2"),
    (2.0, TypeError, "got 2.0"),
    (NAN, TypeError, "got nan"),
    (True, TypeError, "got True"),
    ("4", TypeError, "got '4'"),
]:
    case(
        "DataLoader",
        f"batch_size={value!r}",
        lambda v=value: DataLoader(X10, Y10, batch_size=v),
        error,
        rf"^DataLoader: expected batch_size to be a positive int, {pattern}",
    )
for name, call, error, pattern in [
    (
        "X a list",
        lambda: DataLoader(X10.tolist(), Y10),
        TypeError,
        "expected X to be a numpy.ndarray, got list",
    ),
    (
        "y a list",
        lambda: DataLoader(X10, Y10.tolist()),
        TypeError,
        "expected y to be a numpy.ndarray, got list",
    ),
    (
        "X of rank 0",
        lambda: DataLoader(np.array(1.0)),
        ValueError,
        r"expected X with a sample axis \(ndim >= 1\), got a 0-D array",
    ),
    (
        "empty data",
        lambda: DataLoader(X10[:0], Y10[:0]),
        ValueError,
        r"expected at least one sample, got X of shape \(0, 3\)",
    ),
    (
        "empty y",
        lambda: DataLoader(X10, Y10[:0]),
        ValueError,
        r"expected at least one sample, got y of shape \(0,\)",
    ),
    (
        "X and y of different lengths",
        lambda: DataLoader(X10, Y10[:7]),
        ValueError,
        "X and y must have the same number of samples, got X with 10.*y with 7",
    ),
    (
        "batch_size > N with drop_last",
        lambda: DataLoader(X10, Y10, 11, drop_last=True),
        ValueError,
        "batch_size=11 is larger than the 10 samples and drop_last=True",
    ),
    (
        "shuffle not a bool",
        lambda: DataLoader(X10, Y10, shuffle="yes"),
        TypeError,
        "expected shuffle to be True or False, got 'yes'",
    ),
    (
        "drop_last not a bool",
        lambda: DataLoader(X10, Y10, drop_last=1),
        TypeError,
        "expected drop_last to be True or False, got 1",
    ),
    (
        "rng a string",
        lambda: DataLoader(X10, Y10, rng="seed"),
        TypeError,
        "expected rng to be a numpy.random.Generator, an int seed or None.*got str",
    ),
]:
    case("DataLoader", name, call, error, rf"^DataLoader: {pattern}")
for name, call, error, pattern in [
    (
        "val_fraction=0",
        lambda: train_val_split(X10, Y10, 0.0),
        ValueError,
        r"expected val_fraction in \(0.0, 1.0\), got 0.0",
    ),
    (
        "val_fraction=1",
        lambda: train_val_split(X10, Y10, 1.0),
        ValueError,
        r"expected val_fraction in \(0.0, 1.0\), got 1.0",
    ),
    (
        "val_fraction=-0.1",
        lambda: train_val_split(X10, Y10, -0.1),
        ValueError,
        r"expected val_fraction in \(0.0, 1.0\), got -0.1",
    ),
    (
        "val_fraction=NaN",
        lambda: train_val_split(X10, Y10, NAN),
        ValueError,
        "expected val_fraction to be finite, got nan",
    ),
    (
        "val_fraction a string",
        lambda: train_val_split(X10, Y10, "0.2"),
        TypeError,
        "expected val_fraction to be a number, got '0.2'",
    ),
    (
        "y None",
        lambda: train_val_split(X10, None),
        TypeError,
        "expected y to be a numpy.ndarray of targets, got None",
    ),
    (
        "X and y of different lengths",
        lambda: train_val_split(X10, Y10[:3]),
        ValueError,
        "X and y must have the same number of samples, got X with 10.*y with 3",
    ),
    (
        "empty data",
        lambda: train_val_split(X10[:0], Y10[:0]),
        ValueError,
        r"expected at least one sample, got X of shape \(0, 3\)",
    ),
    (
        "too few samples",
        lambda: train_val_split(X10[:1], Y10[:1], 0.5),
        ValueError,
        "val_fraction=0.5 of 1 samples leaves no sample for training",
    ),
    (
        "stratify with float labels",
        lambda: train_val_split(X10, Y10.astype(float), stratify=True),
        TypeError,
        "stratify=True needs y to be 1-D integer class labels, got array of shape",
    ),
    (
        "stratify not a bool",
        lambda: train_val_split(X10, Y10, stratify="yes"),
        TypeError,
        "expected stratify to be True or False, got 'yes'",
    ),
]:
    case("train_val_split", name, call, error, rf"^train_val_split: {pattern}")


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
