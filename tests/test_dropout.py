"""Dropout (mytorch/dropout.py): PyTorch's inverted dropout, with our mask applied in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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
