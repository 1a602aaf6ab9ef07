"""Tests for mytorch/nn/init.py: fans and gains as PyTorch computes them, the moments and
bounds of every distribution, seeding, and the course's weight_init_fn adapter."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mytorch.nn import init
from mytorch.nn.parameter import Parameter

SHAPE = (400, 500)  # 200 000 draws: sample std within ~0.5% with 5-sigma margin
N = SHAPE[0] * SHAPE[1]


def assert_moments(values, mean, std):
    """Sample mean and std within 5 standard errors of the expected ones."""
    values = np.asarray(values, dtype=np.float64)
    assert abs(values.mean() - mean) < 5 * std / math.sqrt(values.size)
    # The sample std's relative standard error is about 1 / sqrt(2n) for a normal and
    # smaller for a uniform, so 5 / sqrt(n) is a 7-sigma margin (a fan-in/fan-out mix-up
    # on SHAPE is a 12% error).
    assert abs(values.std() / std - 1) < 5 / math.sqrt(values.size)


@pytest.mark.parametrize("shape", [(3, 5), (10, 784), (1, 1), (4, 3, 2, 2), (6, 2, 5), (2, 7, 3)])
def test_fan_in_and_fan_out_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(np.empty(shape)) == expected
    assert init.calculate_fan_in_and_fan_out(Parameter(np.empty(shape))) == expected


def test_fan_of_a_vector_raises():
    with pytest.raises(ValueError, match="^calculate_fan_in_and_fan_out: .*got shape \\(5,\\)"):
        init.calculate_fan_in_and_fan_out(np.zeros(5))
    with pytest.raises(ValueError, match="^xavier_uniform_: expected a weight with at least 2"):
        init.xavier_uniform_(np.zeros(5))
    with pytest.raises(ValueError, match="^kaiming_normal_: expected a weight with at least 2"):
        init.kaiming_normal_(np.zeros(5))


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [
        ("linear", None),
        ("identity", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 0),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    torch_name = "linear" if nonlinearity == "identity" else nonlinearity
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(
        torch_name, param
    )


def test_calculate_gain_rejects_unknown_names():
    with pytest.raises(ValueError, match="^calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_normal_has_the_requested_mean_and_std():
    values = init.normal_(np.empty(SHAPE), mean=2.0, std=3.0, rng=0)
    assert_moments(values, 2.0, 3.0)


def test_uniform_stays_in_bounds_and_has_uniform_moments():
    values = init.uniform_(np.empty(SHAPE), a=-1.0, b=2.0, rng=0)
    assert values.min() >= -1.0 and values.max() < 2.0
    assert values.min() < -0.999 and values.max() > 1.999
    assert_moments(values, 0.5, 3.0 / math.sqrt(12))


UNIFORM_CASES = [
    ("xavier_uniform_", {}, lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ("xavier_uniform_", {"gain": 5 / 3}, lambda fi, fo: 5 / 3 * math.sqrt(6 / (fi + fo))),
    ("kaiming_uniform_", {}, lambda fi, fo: math.sqrt(6 / fi)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, lambda fi, fo: 1 / math.sqrt(fi)),
    (
        "kaiming_uniform_",
        {"mode": "fan_out", "nonlinearity": "relu"},
        lambda fi, fo: math.sqrt(6 / fo),
    ),
    ("kaiming_uniform_", {"nonlinearity": "tanh"}, lambda fi, fo: 5 / 3 * math.sqrt(3 / fi)),
]


@pytest.mark.parametrize(("name", "kwargs", "bound"), UNIFORM_CASES)
def test_uniform_initialisers_use_torchs_bound(name, kwargs, bound):
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    b = bound(fan_in, fan_out)
    ours = getattr(init, name)(np.empty(SHAPE), rng=0, **kwargs)
    theirs = getattr(torch.nn.init, name)(torch.empty(SHAPE, dtype=torch.float64), **kwargs)
    for values in (ours, theirs.numpy()):
        assert np.abs(values).max() <= b
        assert np.abs(values).max() > 0.999 * b
    assert_moments(ours, 0.0, b / math.sqrt(3))


NORMAL_CASES = [
    ("xavier_normal_", {}, lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("xavier_normal_", {"gain": 2.0}, lambda fi, fo: 2 * math.sqrt(2 / (fi + fo))),
    ("kaiming_normal_", {}, lambda fi, fo: math.sqrt(2 / fi)),
    ("kaiming_normal_", {"mode": "fan_out"}, lambda fi, fo: math.sqrt(2 / fo)),
    (
        "kaiming_normal_",
        {"a": 0.2, "nonlinearity": "leaky_relu"},
        lambda fi, fo: math.sqrt(2 / (1 + 0.04)) / math.sqrt(fi),
    ),
    ("kaiming_normal_", {"nonlinearity": "linear"}, lambda fi, fo: 1 / math.sqrt(fi)),
]


@pytest.mark.parametrize(("name", "kwargs", "std"), NORMAL_CASES)
def test_normal_initialisers_have_torchs_std(name, kwargs, std):
    expected = std(SHAPE[1], SHAPE[0])
    ours = getattr(init, name)(np.empty(SHAPE), rng=0, **kwargs)
    torch.manual_seed(0)
    theirs = getattr(torch.nn.init, name)(torch.empty(SHAPE, dtype=torch.float64), **kwargs)
    assert_moments(ours, 0.0, expected)
    assert_moments(theirs.numpy(), 0.0, expected)


def test_kaiming_on_a_conv_kernel_uses_the_receptive_field():
    values = init.kaiming_normal_(np.empty((64, 32, 5, 5)), nonlinearity="relu", rng=0)
    assert_moments(values, 0.0, math.sqrt(2 / (32 * 25)))


def test_notes_normal_has_std_one_over_fan_in():
    values = init.notes_normal_(np.empty((500, 400)), rng=0)
    assert_moments(values, 0.0, 1 / 400)


@pytest.mark.parametrize(
    "fill",
    [
        lambda a, rng: init.normal_(a, rng=rng),
        lambda a, rng: init.uniform_(a, -2, 2, rng=rng),
        lambda a, rng: init.xavier_uniform_(a, rng=rng),
        lambda a, rng: init.xavier_normal_(a, rng=rng),
        lambda a, rng: init.kaiming_uniform_(a, rng=rng),
        lambda a, rng: init.kaiming_normal_(a, rng=rng),
        lambda a, rng: init.notes_normal_(a, rng=rng),
    ],
)
def test_same_seed_gives_the_same_array_and_a_generator_moves_on(fill):
    first = fill(np.empty((7, 9)), 123)
    np.testing.assert_array_equal(first, fill(np.empty((7, 9)), 123))
    assert not np.array_equal(first, fill(np.empty((7, 9)), 124))
    generator = np.random.default_rng(123)
    np.testing.assert_array_equal(first, fill(np.empty((7, 9)), generator))
    assert not np.array_equal(first, fill(np.empty((7, 9)), generator))
    # float32 gets the same draws, rounded
    single = fill(np.empty((7, 9), dtype=np.float32), 123)
    assert single.dtype == np.float32
    np.testing.assert_array_equal(single, first.astype(np.float32))
    # no seed: fresh entropy, still the right shape
    assert fill(np.empty((7, 9)), None).shape == (7, 9)


def test_initialisers_fill_in_place_and_return_their_argument():
    array = np.zeros((3, 4))
    assert init.xavier_uniform_(array, rng=0) is array
    assert array.any()
    param = Parameter(np.zeros((3, 4)))
    data = param.data
    assert init.kaiming_normal_(param, rng=0) is param
    assert param.data is data and data.any()
    view = np.zeros((4, 3)).T  # a non-contiguous view is filled through
    init.normal_(view, rng=0)
    assert view.base.any()


def test_constant_zeros_and_ones_fill_every_entry():
    array = np.empty((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(init.constant_(array, 0.25), np.full((3, 4), 0.25))
    np.testing.assert_array_equal(init.zeros_(array), np.zeros((3, 4)))
    np.testing.assert_array_equal(init.ones_(Parameter(array)).data, np.ones((3, 4)))
    assert array.dtype == np.float32


def test_empty_arrays_are_left_alone():
    for fn in (
        init.xavier_uniform_,
        init.xavier_normal_,
        init.kaiming_uniform_,
        init.kaiming_normal_,
        init.notes_normal_,
    ):
        assert fn(np.empty((0, 5)), rng=0).shape == (0, 5)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: init.normal_(np.empty(3), std=-1.0), ValueError, "^normal_: expected std"),
        (lambda: init.uniform_(np.empty(3), 1.0, 0.0), ValueError, "^uniform_: expected b"),
        (lambda: init.normal_([1.0, 2.0]), TypeError, "^normal_: expected a numpy.ndarray"),
        (lambda: init.normal_(np.zeros(3, dtype=int)), TypeError, "^normal_: expected a float"),
        (lambda: init.normal_(np.empty(3), rng="seed"), TypeError, "^normal_: expected rng"),
        (lambda: init.normal_(np.empty(3), rng=1.5), TypeError, "^normal_: expected rng"),
        (
            lambda: init.kaiming_uniform_(np.empty((2, 2)), mode="fan_avg"),
            ValueError,
            "^kaiming_uniform_: expected mode 'fan_in' or 'fan_out'",
        ),
        (
            lambda: init.xavier_normal_(np.empty((2, 2)), gain=float("nan")),
            ValueError,
            "^xavier_normal_: expected gain to be finite",
        ),
        (lambda: init.course_init(init.normal_, dtype=np.int32), TypeError, "^course_init"),
        (lambda: init.course_init("normal"), TypeError, "^course_init: expected init_fn"),
        (
            lambda: init.course_init(init.normal_)(0, 3),
            ValueError,
            "^weight_init_fn: expected in_features",
        ),
    ],
)
def test_bad_arguments_raise_errors_naming_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_course_init_returns_in_by_out_weights_with_torch_fans():
    weight_init_fn = init.course_init(init.xavier_uniform_, rng=0)
    W = weight_init_fn(784, 64)
    assert W.shape == (784, 64) and W.dtype == np.float64
    assert W.T.flags["C_CONTIGUOUS"]  # W.T is the PyTorch-layout (out, in) weight
    expected = init.xavier_uniform_(np.empty((64, 784)), rng=0)
    np.testing.assert_array_equal(W, expected.T)
    # the generator is shared: the next layer gets new draws, reproducibly
    second = weight_init_fn(784, 64)
    assert not np.array_equal(W, second)
    again = init.course_init(init.xavier_uniform_, rng=0)
    again(784, 64)
    np.testing.assert_array_equal(again(784, 64), second)


def test_course_init_passes_options_and_dtype_and_handles_constant_inits():
    weight_init_fn = init.course_init(
        init.kaiming_normal_, rng=1, dtype=np.float32, nonlinearity="relu"
    )
    W = weight_init_fn(300, 400)
    assert W.dtype == np.float32
    assert_moments(W, 0.0, math.sqrt(2 / 300))
    np.testing.assert_array_equal(init.course_init(init.zeros_)(3, 2), np.zeros((3, 2)))
    np.testing.assert_array_equal(
        init.course_init(init.constant_, val=0.5)(2, 2), np.full((2, 2), 0.5)
    )
    notes_fn = init.course_init(init.notes_normal_, rng=2)
    assert_moments(notes_fn(250, 800), 0.0, 1 / 250)
