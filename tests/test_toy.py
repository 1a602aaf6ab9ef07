"""The 2-D toy data sets: shapes, balance, seeding and the geometry each one promises."""

import numpy as np
import pytest

from mytorch.datasets.toy import TOY_DATASETS, make_toy


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_make_toy_returns_float64_points_and_balanced_int64_labels(name):
    X, y = make_toy(name, 101, noise=0.1, rng=0)
    assert X.shape == (101, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (101,) and y.dtype == np.int64
    assert sorted(np.bincount(y)) == [50, 51]
    assert np.all(np.isfinite(X))
    assert np.abs(X).max() < 3.0  # every set spans about [-1.5, 1.5]


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_make_toy_is_reproducible_with_a_seed_and_differs_across_seeds(name):
    X1, y1 = make_toy(name, 50, rng=3)
    X2, y2 = make_toy(name, 50, rng=3)
    X3, _ = make_toy(name, 50, rng=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_make_toy_draws_new_points_from_a_shared_generator():
    rng = np.random.default_rng(0)
    first, _ = make_toy("moons", 20, rng=rng)
    second, _ = make_toy("moons", 20, rng=rng)
    assert not np.array_equal(first, second)


def test_make_toy_shuffles_so_the_first_rows_hold_both_classes():
    _, y = make_toy("blobs", 200, rng=0)
    assert set(y[:10]) == {0, 1}


def test_blobs_without_noise_are_separated_by_the_line_x1_plus_x2_equals_0():
    X, y = make_toy("blobs", 400, noise=0.0, rng=0)
    side = X.sum(axis=1)
    np.testing.assert_array_equal(side > 0, y == 1)
    assert np.abs(side).min() > 0.5  # a margin on both sides of the line


def test_xor_without_noise_has_class_1_exactly_where_the_signs_differ():
    X, y = make_toy("xor", 400, noise=0.0, rng=0)
    np.testing.assert_array_equal(X[:, 0] * X[:, 1] < 0, y == 1)
    assert np.abs(X).min() >= 0.1  # the gap along both axes
    quadrants = {(bool(a > 0), bool(b > 0)) for a, b in X}
    assert len(quadrants) == 4


def test_circles_without_noise_lie_on_radius_1_and_0_5():
    X, y = make_toy("circles", 200, noise=0.0, rng=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.5)


def test_moons_without_noise_are_two_shifted_half_circles():
    X, y = make_toy("moons", 200, noise=0.0, rng=0)
    upper = X[y == 0] + [0.5, 0.25]
    lower = X[y == 1] + [0.5, 0.25] - [1.0, 0.5]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0)
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0)


def test_spirals_without_noise_are_two_arms_half_a_turn_apart():
    X, y = make_toy("spirals", 400, noise=0.0, rng=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() >= 0.2 - 1e-12 and radius.max() <= 1.4 + 1e-12
    # The arm of class 1 is the arm of class 0 turned by pi: -X of class 1 lies on arm 0,
    # whose angle is 3 pi (r - 0.2) / 1.2.
    for label, turn in ((0, 0.0), (1, np.pi)):
        points = X[y == label]
        r = np.hypot(points[:, 0], points[:, 1])
        angle = 3 * np.pi * (r - 0.2) / 1.2 + turn
        np.testing.assert_allclose(
            points, r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), atol=1e-12
        )


def test_noise_moves_points_by_about_its_standard_deviation():
    X, y = make_toy("circles", 4000, noise=0.2, rng=0)
    radial_error = np.hypot(X[:, 0], X[:, 1]) - np.where(y == 1, 0.5, 1.0)
    # Gaussian noise of std 0.2 per coordinate moves a point radially by about 0.2.
    assert 0.17 < np.std(radial_error) < 0.23


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "swirl"}, ValueError, "expected name in"),
        ({"name": "xor", "n_samples": 1}, ValueError, "n_samples >= 2"),
        ({"name": "xor", "n_samples": 0}, ValueError, "positive int"),
        ({"name": "xor", "n_samples": 10.0}, TypeError, "positive int"),
        ({"name": "xor", "noise": -0.1}, ValueError, "noise"),
    ],
)
def test_make_toy_rejects_bad_arguments_with_a_message(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_toy(**kwargs)
