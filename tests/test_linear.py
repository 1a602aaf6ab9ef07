"""Linear layers (mytorch/linear.py and mytorch/nn/linear.py) against PyTorch autograd.

The invalid-input cases at the end check that ``nn.Linear`` and the course ``Linear``
reject bad input, delta, constructor arguments and state_dicts with a clear error
(table conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from invalid_inputs import (
    ANY_LEADING_AXES,
    NAN,
    Case,
    CaseTable,
    add_matrix_layer_cases,
    assert_raises_a_clear_error,
)

from mytorch import nn
from mytorch.linear import Linear as CourseLinear

T = torch.from_numpy


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("batch", [1, 7, 128])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_linear_forward_and_gradients_match_torch(bias, batch, mode, rng, close, to_torch):
    layer = nn.Linear(6, 4, bias=bias, rng=0).train(mode == "train")
    theirs = to_torch(layer)
    x = rng.normal(size=(batch, 6))
    grad_output = rng.normal(size=(batch, 4))
    x_t = torch.tensor(x, requires_grad=True)
    theirs(x_t).backward(T(grad_output))

    close(layer(x), theirs(T(x)), "output")
    close(layer.backward(grad_output), x_t.grad, "grad_input")
    close(layer.weight.grad, theirs.weight.grad, "weight.grad")
    if bias:
        close(layer.bias.grad, theirs.bias.grad, "bias.grad")
    else:
        assert layer.bias is None and "bias" not in layer.state_dict()


@pytest.mark.parametrize("shape", [(6,), (2, 3, 6), (2, 1, 3, 6)], ids=str)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_linear_takes_any_leading_axes_like_torch(bias, shape, rng, close, to_torch):
    """(*, in): one sample (in,), or a batch of rows with any leading axes, as PyTorch."""
    layer = nn.Linear(6, 4, bias=bias, rng=0)
    theirs = to_torch(layer)
    x = rng.normal(size=shape)
    grad_output = rng.normal(size=(*shape[:-1], 4))
    x_t = torch.tensor(x, requires_grad=True)
    theirs(x_t).backward(T(grad_output))

    out = layer(x)
    assert isinstance(out, np.ndarray) and out.shape == (*shape[:-1], 4)
    close(out, theirs(T(x)), "output")
    close(layer.backward(grad_output), x_t.grad, "grad_input")
    close(layer.weight.grad, theirs.weight.grad, "weight.grad")
    if bias:
        close(layer.bias.grad, theirs.bias.grad, "bias.grad")
    assert layer.backward(grad_output, need_input_grad=False) is None


def test_linear_accepts_torch_device_and_dtype_arguments():
    layer = nn.Linear(3, 2, True, "cpu", np.float32, rng=0)
    assert layer.weight.dtype == np.float32
    assert nn.Linear(3, 2, device=None, dtype=None).weight.dtype == np.float64


def test_course_linear_keeps_the_course_layout():
    """The course's Linear takes (N, in) only: the handout's layout, nothing reshaped."""
    with pytest.raises(ValueError, match=r"^Linear: expected input to be 2-D, got a 3-D array"):
        course_linear()(np.ones((2, 4, 3)))


def test_linear_gradients_accumulate_over_backward_calls_like_torch(rng, close, to_torch):
    layer = nn.Linear(5, 3, rng=1)
    theirs = to_torch(layer)
    for _ in range(3):
        x, grad_output = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
        layer(x)
        layer.backward(grad_output)
        theirs(T(x)).backward(T(grad_output))
    close(layer.weight.grad, theirs.weight.grad, "weight.grad")
    close(layer.bias.grad, theirs.bias.grad, "bias.grad")


def test_linear_default_init_is_torch_uniform_bound():
    layer = nn.Linear(400, 50, rng=0)
    bound = 1 / np.sqrt(400)
    for param in (layer.weight.data, layer.bias.data):
        assert np.abs(param).max() <= bound
        assert np.abs(param).max() > 0.9 * bound  # spread over the whole interval


def test_linear_same_seed_gives_same_weights():
    first, second = nn.Linear(5, 3, rng=7), nn.Linear(5, 3, rng=7)
    np.testing.assert_array_equal(first.weight.data, second.weight.data)
    np.testing.assert_array_equal(first.bias.data, second.bias.data)


@pytest.mark.parametrize("batch", [1, 7, 128])
def test_course_linear_stores_mean_gradients_and_returns_sum_gradient(batch, rng, close):
    W0 = rng.normal(size=(6, 4))
    b0 = rng.normal(size=(1, 4))
    layer = CourseLinear(6, 4, lambda i, o: W0.copy(), lambda o: b0.copy())
    x = rng.normal(size=(batch, 6))
    delta = rng.normal(size=(batch, 4))

    W_t = torch.tensor(W0, requires_grad=True)
    b_t = torch.tensor(b0, requires_grad=True)
    x_t = torch.tensor(x, requires_grad=True)
    (x_t @ W_t + b_t).backward(T(delta))

    close(layer.forward(x), x @ W0 + b0, "forward = x W + b")
    close(layer.backward(delta), x_t.grad, "dx (of the sum)")
    close(layer.dW, W_t.grad / batch, "dW (of the mean)")
    close(layer.db, b_t.grad / batch, "db (of the mean)")
    for name, shape in (("W", (6, 4)), ("b", (1, 4)), ("dW", (6, 4)), ("db", (1, 4))):
        value = getattr(layer, name)
        assert isinstance(value, np.ndarray) and value.dtype == np.float64
        assert value.shape == shape, name


def test_course_linear_gradients_replace_previous_ones(rng, close):
    layer = CourseLinear(3, 2, lambda i, o: np.ones((i, o)), lambda o: np.zeros((1, o)))
    x, delta = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    for _ in range(2):
        layer.forward(x)
        layer.backward(delta)
    close(layer.dW, x.T @ delta / 4, "dW after two backward calls")


def test_course_linear_W_is_a_view_of_torch_layout_weight():
    layer = CourseLinear(3, 2, lambda i, o: np.arange(6.0).reshape(i, o), lambda o: np.zeros(o))
    np.testing.assert_array_equal(layer.weight.data, np.arange(6.0).reshape(3, 2).T)
    layer.W += 1.0
    np.testing.assert_array_equal(layer.weight.data, np.arange(6.0).reshape(3, 2).T + 1.0)
    assert layer.weight.data.flags.c_contiguous


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 9),
    in_features=st.integers(1, 9),
    out_features=st.integers(1, 9),
    bias=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_linear_keeps_shape_and_dtype(batch, in_features, out_features, bias, dtype):
    layer = nn.Linear(in_features, out_features, bias=bias, dtype=dtype, rng=0)
    x = np.ones((batch, in_features), dtype=dtype)
    out = layer(x)
    assert out.shape == (batch, out_features) and out.dtype == dtype
    grad = layer.backward(np.ones_like(out))
    assert grad.shape == x.shape and grad.dtype == dtype
    assert layer.weight.grad.dtype == dtype and layer.weight.grad.shape == layer.weight.shape


# ----------------------------------------------------------------------- invalid inputs
# nn.Linear and the course Linear reject every bad input, argument and state_dict with an
# error naming the layer (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case


def _after_forward(layer, x):
    layer(x)
    return layer


def course_linear() -> CourseLinear:
    return CourseLinear(3, 2, lambda i, o: np.full((i, o), 0.1), lambda o: np.zeros((1, o)))


add_matrix_layer_cases(
    INVALID_INPUTS, "nn.Linear", lambda: nn.Linear(3, 2, rng=0), "Linear", ranks=ANY_LEADING_AXES
)
add_matrix_layer_cases(INVALID_INPUTS, "course Linear", course_linear, "Linear")
case(
    "nn.Linear",
    "delta of (N, out) for a (2, 4, 3) input",
    lambda: _after_forward(nn.Linear(3, 2, rng=0), np.ones((2, 4, 3))).backward(np.ones((8, 2))),
    ValueError,
    r"^Linear\.backward: expected delta to be 3-D, got a 2-D array",
)
case(
    "nn.Linear",
    "device='cuda'",
    lambda: nn.Linear(3, 2, device="cuda"),
    ValueError,
    r"^Linear: expected device None or 'cpu' \(MyTorch computes with NumPy on the CPU\), "
    r"got 'cuda'",
)
case(
    "nn.Linear",
    "load_state_dict of wrong shape",
    lambda: nn.Linear(3, 2).load_state_dict({"weight": np.ones((3, 3)), "bias": np.ones(2)}),
    ValueError,
    r"^Linear\.load_state_dict: 'weight' has shape \(3, 3\), expected \(2, 3\)",
)
case(
    "nn.Linear",
    "load_state_dict not a dict",
    lambda: nn.Linear(3, 2).load_state_dict(5),
    TypeError,
    r"^Linear\.load_state_dict: expected a dict.*got int",
)

# Constructor arguments.
for value, error, pattern in [
    (0, ValueError, "got 0"),
    (-3, ValueError, "got -3"),
    (2.5, TypeError, "got 2.5"),
    ("3", TypeError, "got '3'"),
    (True, TypeError, "got True"),
]:
    case(
        "nn.Linear",
        f"in_features={value!r}",
        lambda v=value: nn.Linear(v, 2),
        error,
        rf"^Linear: expected in_features to be a positive int, {pattern}",
    )
case(
    "nn.Linear",
    "out_features=0",
    lambda: nn.Linear(3, 0),
    ValueError,
    r"^Linear: expected out_features to be a positive int, got 0",
)
case(
    "nn.Linear",
    "dtype=int64",
    lambda: nn.Linear(3, 2, dtype=np.int64),
    TypeError,
    r"^Linear: expected dtype float32 or float64, got",
)
case(
    "nn.Linear",
    "dtype=float16",
    lambda: nn.Linear(3, 2, dtype=np.float16),
    TypeError,
    r"^Linear: expected dtype float32 or float64, got",
)
case(
    "nn.Linear",
    "bias not a bool",
    lambda: nn.Linear(3, 2, bias=1),
    TypeError,
    r"^Linear: expected bias to be a bool, got 1",
)
case(
    "nn.Linear",
    "rng a string",
    lambda: nn.Linear(3, 2, rng="seed"),
    TypeError,
    r"^Linear: expected rng to be a numpy.random.Generator, an int seed or None, got 'seed'",
)
case(
    "nn.Linear",
    "rng negative",
    lambda: nn.Linear(3, 2, rng=-1),
    ValueError,
    r"^Linear: expected rng to be a non-negative int seed, got -1",
)
case(
    "course Linear",
    "weight_init_fn of wrong shape",
    lambda: CourseLinear(3, 2, lambda i, o: np.ones((2, 2)), lambda o: np.zeros((1, o))),
    ValueError,
    r"^Linear: weight_init_fn returned shape \(2, 2\), expected \(3, 2\)",
)
case(
    "course Linear",
    "weight_init_fn gives NaN",
    lambda: CourseLinear(3, 2, lambda i, o: np.full((i, o), NAN), lambda o: np.zeros((1, o))),
    ValueError,
    r"^Linear: weight_init_fn contains 6 NaN",
)
case(
    "course Linear",
    "weight_init_fn not callable",
    lambda: CourseLinear(3, 2, 3, None),
    TypeError,
    r"^Linear: expected weight_init_fn to be a callable or None, got 3",
)


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
