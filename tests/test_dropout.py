"""Dropout (mytorch/dropout.py): PyTorch's inverted dropout, with our mask applied in torch.

The invalid-input cases at the end check that ``nn.Dropout`` rejects bad input, p, rng
and grad_output with a clear error (table conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from invalid_inputs import (
    ANY_SHAPE_BAD,
    BAD_MATRICES,
    NAN,
    Case,
    CaseTable,
    assert_raises_a_clear_error,
    good,
    with_value,
)

from mytorch import nn

T = torch.from_numpy


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("batch", [1, 7, 128])
def test_dropout_training_equals_torch_with_the_same_mask(p, batch, rng, close):
    drop = nn.Dropout(p, rng=3)
    x, grad_output = rng.normal(size=(batch, 6)), rng.normal(size=(batch, 6))
    out = drop(x)
    mask = np.broadcast_to(drop.mask, x.shape)
    # Torch's dropout keeps a unit with probability 1 - p and scales it by 1 / (1 - p).
    kept = mask != 0
    if p < 1:
        np.testing.assert_array_equal(mask[kept], 1.0 / (1.0 - p))
    else:
        assert not kept.any()
    x_t = torch.tensor(x, requires_grad=True)
    out_t = x_t * T(np.array(mask))
    out_t.backward(T(grad_output))
    close(out, out_t, "output")
    close(drop.backward(grad_output), x_t.grad, "grad_input")


@pytest.mark.parametrize("batch", [1, 7, 128])
def test_dropout_in_eval_mode_is_the_identity_like_torch(batch, rng, close):
    drop = nn.Dropout(0.5, rng=0).eval()
    x, grad_output = rng.normal(size=(batch, 6)), rng.normal(size=(batch, 6))
    x_t = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.Dropout(0.5).eval()(x_t)
    out_t.backward(T(grad_output))
    close(drop(x), out_t, "output")
    close(drop.backward(grad_output), x_t.grad, "grad_input")


def test_dropout_keeps_about_one_minus_p_of_the_units():
    drop = nn.Dropout(0.3, rng=0)
    drop(np.ones((256, 64)))
    kept = float(np.mean(drop.mask != 0))
    # 16384 Bernoulli(0.7) draws: the standard deviation of the fraction is 0.0036.
    assert abs(kept - 0.7) < 0.02


def test_dropout_preserves_the_expected_value():
    out = nn.Dropout(0.5, rng=1)(np.ones((512, 64)))
    assert abs(out.mean() - 1.0) < 0.03


def test_dropout_with_the_same_seed_drops_the_same_units():
    x = np.ones((8, 8))
    np.testing.assert_array_equal(nn.Dropout(0.5, rng=42)(x), nn.Dropout(0.5, rng=42)(x))


def test_dropout_draws_a_new_mask_each_forward():
    drop = nn.Dropout(0.5, rng=0)
    x = np.ones((8, 8))
    assert not np.array_equal(drop(x), drop(x))


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 9),
    features=st.integers(1, 9),
    p=st.sampled_from([0.0, 0.3, 1.0]),
    training=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_dropout_keeps_shape_and_dtype(batch, features, p, training, dtype):
    drop = nn.Dropout(p, rng=0).train(training)
    x = np.ones((batch, features), dtype=dtype)
    out = drop(x)
    assert out.shape == x.shape and out.dtype == dtype
    grad = drop.backward(np.ones_like(out))
    assert grad.shape == x.shape and grad.dtype == dtype


# ----------------------------------------------------------------------- invalid inputs
# nn.Dropout rejects bad input, p, rng and grad_output with an error naming it
# (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case

for bad in ANY_SHAPE_BAD:
    x, error, pattern = BAD_MATRICES[bad]
    case("nn.Dropout", bad, lambda x=x: nn.Dropout(0.5, rng=0)(x), error, rf"^Dropout: {pattern}")
for p, error, pattern in [
    (-0.1, ValueError, r"expected p in \[0, 1\], got -0.1"),
    (1.5, ValueError, r"expected p in \[0, 1\], got 1.5"),
    (NAN, ValueError, "expected p to be finite, got nan"),
    ("0.5", TypeError, "expected p to be a number, got '0.5'"),
]:
    case("nn.Dropout", f"p={p!r}", lambda p=p: nn.Dropout(p), error, rf"^Dropout: {pattern}")
case(
    "nn.Dropout",
    "rng a string",
    lambda: nn.Dropout(0.5, rng="x"),
    TypeError,
    r"^Dropout: expected rng to be a numpy.random.Generator.*got 'x'",
)
case(
    "nn.Dropout",
    "backward before forward",
    lambda: nn.Dropout(0.5).backward(good()),
    RuntimeError,
    r"^Dropout\.backward: backward\(\) called before forward\(\)",
)


def dropout_backward(grad: np.ndarray) -> np.ndarray:
    drop = nn.Dropout(0.5, rng=0)
    drop(good())
    return drop.backward(grad)


case(
    "nn.Dropout",
    "grad_output of the wrong shape",
    lambda: dropout_backward(np.ones((3, 3))),
    ValueError,
    r"^Dropout\.backward: expected grad_output of shape \(4, 3\).*got \(3, 3\)",
)
case(
    "nn.Dropout",
    "NaN grad_output",
    lambda: dropout_backward(with_value(NAN)),
    ValueError,
    r"^Dropout\.backward: grad_output contains 1 NaN",
)
case(
    "nn.Dropout",
    "integer grad_output",
    lambda: dropout_backward(np.ones((4, 3), dtype=np.int64)),
    TypeError,
    r"^Dropout\.backward: expected grad_output of a floating dtype.*int64",
)


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
