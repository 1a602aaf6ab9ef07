"""Tests for mytorch/nn/clip_grad.py against torch.nn.utils.clip_grad_norm_ /
clip_grad_value_."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mytorch.nn.parameter import Parameter
from mytorch.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_

SHAPES = [(4, 3), (4,), (2, 4), (2,)]


def make_pair(scale=1.0, seed=0, dtype=np.float64):
    """Parameters with gradients, and torch tensors with the same gradients."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in SHAPES:
        grad = (scale * rng.normal(size=shape)).astype(dtype)
        param = Parameter(np.zeros(shape, dtype=dtype))
        param.grad = grad.copy()
        tensor = torch.zeros(shape, dtype=torch.from_numpy(grad).dtype, requires_grad=True)
        tensor.grad = torch.from_numpy(grad.copy())
        ours.append(param)
        theirs.append(tensor)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(close, norm_type, max_norm):
    ours, theirs = make_pair(scale=2.0)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    close(total, torch_total, "total norm", tol=1e-12)
    for param, tensor in zip(ours, theirs, strict=True):
        close(param.grad, tensor.grad, "clipped gradient", tol=1e-12)


def test_clipped_norm_is_just_below_max_norm_because_of_the_1e6():
    ours, _ = make_pair(scale=3.0)
    before = clip_grad_norm_(ours, 1.0)
    after = math.sqrt(sum(float(np.sum(p.grad**2)) for p in ours))
    assert after == pytest.approx(1.0 * before / (before + 1e-6), rel=1e-12)
    assert after < 1.0
    # a norm equal to max_norm is still scaled by max_norm / (max_norm + 1e-6)
    exact = Parameter(np.zeros(2))
    exact.grad = np.array([0.6, 0.8])
    assert clip_grad_norm_(exact, 1.0) == pytest.approx(1.0)
    np.testing.assert_allclose(exact.grad, np.array([0.6, 0.8]) / (1 + 1e-6), rtol=1e-15)


def test_small_gradients_are_left_unchanged():
    ours, _ = make_pair(scale=1e-3)
    before = [p.grad.copy() for p in ours]
    clip_grad_norm_(ours, 1.0)
    for param, grad in zip(ours, before, strict=True):
        np.testing.assert_array_equal(param.grad, grad)


def test_parameters_without_gradients_are_skipped_and_none_gives_zero():
    ours, theirs = make_pair()
    ours[1].grad = None
    theirs[1].grad = None
    total = clip_grad_norm_(iter(ours), 0.1)
    assert total == pytest.approx(float(torch.nn.utils.clip_grad_norm_(theirs, 0.1)), rel=1e-12)
    assert ours[1].grad is None
    empty = Parameter(np.zeros(3))
    assert clip_grad_norm_([empty], 1.0) == 0.0
    assert clip_grad_norm_([], 1.0) == 0.0


def test_a_single_parameter_is_accepted_and_float32_stays_float32():
    ours, theirs = make_pair(scale=5.0, dtype=np.float32)
    total = clip_grad_norm_(ours[0], 1.0)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs[0], 1.0)
    assert ours[0].grad.dtype == np.float32
    assert total == pytest.approx(float(torch_total), rel=1e-6)
    np.testing.assert_allclose(ours[0].grad, theirs[0].grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_nonfinite_norm_raises_if_asked_and_otherwise_behaves_like_torch(bad):
    ours, theirs = make_pair()
    ours[0].grad[0, 0] = bad
    theirs[0].grad[0, 0] = bad
    with pytest.raises(RuntimeError, match="^clip_grad_norm_: the total 2.0-norm"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):
        total = clip_grad_norm_(ours, 1.0)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_array_equal(total, torch_total.numpy())
    for param, tensor in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(param.grad, tensor.grad.numpy())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_norm": -1.0}, ValueError, r"^clip_grad_norm_: expected max_norm in \[0.0, inf\]"),
        ({"max_norm": 1.0, "norm_type": 0}, ValueError, "^clip_grad_norm_: expected norm_type > 0"),
        ({"max_norm": 1.0, "norm_type": "two"}, TypeError, "^clip_grad_norm_: expected norm_type"),
        (
            {"max_norm": 1.0, "error_if_nonfinite": "yes"},
            TypeError,
            "^clip_grad_norm_: expected error_if_nonfinite",
        ),
    ],
)
def test_bad_arguments_raise_errors_naming_the_function(kwargs, error, message):
    ours, _ = make_pair()
    with pytest.raises(error, match=message):
        clip_grad_norm_(ours, **kwargs)


def test_arrays_instead_of_parameters_are_rejected():
    with pytest.raises(TypeError, match="^clip_grad_norm_: expected Parameters"):
        clip_grad_norm_(np.ones(3), 1.0)
    with pytest.raises(TypeError, match="got ndarray at position 0"):
        clip_grad_norm_([np.ones(3)], 1.0)


def test_clip_grad_value_matches_torch():
    ours, theirs = make_pair(scale=2.0)
    clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for param, tensor in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(param.grad, tensor.grad.numpy())
    with pytest.raises(ValueError, match="^clip_grad_value_: expected clip_value"):
        clip_grad_value_(ours, -1.0)
