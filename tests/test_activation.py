"""Activations (mytorch/activation.py) against PyTorch autograd and their own formulas.

The invalid-input cases at the end check that every activation rejects bad input,
grad_output and constructor arguments with a clear error (table conventions in
tests/invalid_inputs.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from invalid_inputs import (
    ANY_SHAPE_BAD,
    BAD_MATRICES,
    INF,
    NAN,
    Case,
    CaseTable,
    assert_raises_a_clear_error,
    good,
)

from mytorch import nn

ACTIVATIONS = {
    "Identity": nn.Identity,
    "Step": nn.Step,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "LeakyReLU(0.3)": lambda: nn.LeakyReLU(0.3),
    "ELU": nn.ELU,
    "ELU(0.7)": lambda: nn.ELU(alpha=0.7),
    "GELU": nn.GELU,
    "GELU(tanh)": lambda: nn.GELU(approximate="tanh"),
    "Softplus": nn.Softplus,
    "Softplus(beta=2,threshold=3)": lambda: nn.Softplus(beta=2.0, threshold=3.0),
    "Softplus(beta=0.5,threshold=1)": lambda: nn.Softplus(beta=0.5, threshold=1.0),
    "Softmax(dim=1)": lambda: nn.Softmax(dim=1),
    "Softmax(dim=0)": lambda: nn.Softmax(dim=0),
    "Softmax(dim=-1)": lambda: nn.Softmax(dim=-1),
    "LogSoftmax(dim=1)": lambda: nn.LogSoftmax(dim=1),
    "LogSoftmax(dim=0)": lambda: nn.LogSoftmax(dim=0),
    "LogSoftmax(dim=-1)": lambda: nn.LogSoftmax(dim=-1),
}
ELEMENTWISE = [name for name in ACTIVATIONS if not name.startswith(("Softmax", "LogSoftmax"))]

# Default numpy error state, but raising: divide, overflow and invalid warn by default;
# underflow is ignored by default because flushing exp(-1e4) to 0 is the right answer.
RAISE_ON_WARNINGS = {"divide": "raise", "over": "raise", "invalid": "raise", "under": "ignore"}


#: Extreme inputs in every parametrised case: saturation, exp's underflow and overflow.
EXTREMES = np.array([1e4, -1e4, 750.0, -750.0, 40.0])


def _input(rng: np.random.Generator, batch: int, features: int = 6) -> np.ndarray:
    x = rng.normal(scale=3.0, size=(batch, features))
    x[0, 0] = 0.0  # the kink of ReLU, LeakyReLU, ELU and Step
    x[-1, 1:] = EXTREMES[: features - 1]  # |x| up to 1e4
    return x


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("batch", [1, 7, 128])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_and_grad_input_match_torch(name, batch, mode, rng, close, to_torch):
    ours = ACTIVATIONS[name]().train(mode == "train")
    theirs = to_torch(ours)
    x = _input(rng, batch)
    grad_output = rng.normal(size=x.shape)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = theirs(x_t)
    y_t.backward(torch.from_numpy(grad_output))

    y = ours(x)
    close(y, y_t, "output")
    assert y.dtype == np.float64
    close(ours.backward(grad_output), x_t.grad, "grad_input")


# Every activation on inputs of other ranks (dim=1 needs two axes, in both libraries).
OTHER_SHAPES = [
    pytest.param(name, shape, id=f"{name}-{shape}")
    for name in ACTIVATIONS
    for shape in [(), (5,), (2, 3, 4), (2, 1, 3, 2)]
    if not ("dim=1" in name and len(shape) < 2)
]


@pytest.mark.parametrize(("name", "shape"), OTHER_SHAPES)
def test_activation_takes_any_shape_like_torch(name, shape, rng, close, to_torch):
    """0-d included: an array comes back, as PyTorch's 0-d tensor (softmax of one value: 1)."""
    ours = ACTIVATIONS[name]()
    theirs = to_torch(ours)
    x = np.asarray(rng.normal(scale=3.0, size=shape))
    grad_output = np.asarray(rng.normal(size=shape))
    x_t = torch.tensor(x, requires_grad=True)
    theirs(x_t).backward(torch.from_numpy(grad_output))

    y = ours(x)
    assert isinstance(y, np.ndarray) and y.shape == shape and y.dtype == np.float64
    close(y, theirs(torch.from_numpy(x)), "output")
    grad = ours.backward(grad_output)
    assert isinstance(grad, np.ndarray) and grad.shape == shape
    close(grad, x_t.grad, "grad_input")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_course_state_and_derivative_match_torch(name, rng, close, to_torch):
    act = ACTIVATIONS[name]()
    x = _input(rng, 7)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = to_torch(act)(x_t)
    y_t.sum().backward()  # elementwise, so the gradient of the sum is f'(z)

    out = act(x)
    assert act.state is out
    close(act.state, y_t, "state")
    close(act.derivative(), x_t.grad, "derivative")


@pytest.mark.parametrize("name", ["Softmax(dim=1)", "LogSoftmax(dim=1)"])
def test_softmax_derivative_is_the_per_sample_jacobian(name, rng, close, to_torch):
    act = ACTIVATIONS[name]()
    x = _input(rng, 4, features=5)
    act(x)
    full = torch.autograd.functional.jacobian(to_torch(act), torch.from_numpy(x))  # (N,C,N,C)
    per_sample = torch.stack([full[i, :, i, :] for i in range(x.shape[0])])
    close(act.derivative(), per_sample, "jacobian")


def test_relu_derivative_is_zero_at_zero():
    relu = nn.ReLU()
    relu(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(relu.derivative(), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(relu.backward(np.full((1, 3), 5.0)), [[0.0, 0.0, 5.0]])


def test_step_is_the_notes_step_one_at_zero_with_zero_derivative_everywhere(rng):
    # 000 section 7.3: step(z) = 0 if z < 0, 1 otherwise (so step(0) = 1; -0.0 too).
    step = nn.Step()
    x = np.array([[-3.0, -1e-12, 0.0, -0.0, 1e-12, 4.0]])
    np.testing.assert_array_equal(step(x), [[0.0, 0.0, 1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(step.derivative(), np.zeros_like(x))
    np.testing.assert_array_equal(step.backward(rng.normal(size=x.shape)), np.zeros_like(x))


def test_leaky_relu_derivative_at_zero_is_negative_slope_like_torch():
    leaky = nn.LeakyReLU(0.25)
    leaky(np.array([[0.0]]))
    assert leaky.derivative()[0, 0] == 0.25


def test_sigmoid_accepts_zero_dim_input():
    out = nn.Sigmoid()(np.array(0.0))
    assert float(out) == 0.5


LARGE = np.array([[-1e4, -1e3, -710.0, -50.0, -1.0, 0.0, 1.0, 50.0, 710.0, 1e3, 1e4]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_is_stable_and_warning_free_for_inputs_up_to_1e4(name, dtype, close, to_torch):
    """Under np.errstate(all="raise"): no underflow, overflow or invalid operation."""
    act = ACTIVATIONS[name]()
    grad_output = np.linspace(-1.0, 1.0, LARGE.size).reshape(LARGE.shape)
    if dtype == np.float32:  # float32's exp underflows below -103: the values above do
        out = act(LARGE.astype(dtype))
        grad = act.backward(grad_output.astype(dtype))
        assert out.dtype == grad.dtype == dtype
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))
        return
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        out = act(LARGE)
        grad = act.backward(grad_output)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))
    x_t = torch.tensor(LARGE, requires_grad=True)
    y_t = to_torch(act)(x_t)
    y_t.backward(torch.from_numpy(grad_output))
    close(out, y_t, "output")
    close(grad, x_t.grad, "grad_input")


def test_sigmoid_saturates_exactly_without_overflow():
    with np.errstate(**RAISE_ON_WARNINGS):
        out = nn.Sigmoid()(np.array([[-1e4, 1e4]]))
    np.testing.assert_array_equal(out, [[0.0, 1.0]])


def test_log_softmax_of_huge_logits_is_exact():
    with np.errstate(**RAISE_ON_WARNINGS):
        out = nn.LogSoftmax(dim=1)(np.array([[1e4, 0.0, -1e4]]))
    np.testing.assert_allclose(out, [[0.0, -1e4, -2e4]], rtol=1e-15)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(sorted(ACTIVATIONS)),
    batch=st.integers(1, 9),
    features=st.integers(1, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_activation_keeps_shape_and_dtype(name, batch, features, dtype, seed):
    rng = np.random.default_rng(seed)
    act = ACTIVATIONS[name]()
    x = rng.normal(scale=3.0, size=(batch, features)).astype(dtype)
    out = act(x)
    assert out.shape == x.shape and out.dtype == dtype
    grad = act.backward(np.ones_like(x))
    assert grad.shape == x.shape and grad.dtype == dtype


# ----------------------------------------------------------------------- invalid inputs
# Every activation rejects bad input, grad_output and constructor arguments with an error
# naming it (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case

#: Each activation by the name its messages start with.
NAMED_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "Identity": nn.Identity,
    "Step": nn.Step,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "ELU": nn.ELU,
    "GELU": nn.GELU,
    "Softplus": nn.Softplus,
    "Softmax": lambda: nn.Softmax(dim=1),
    "LogSoftmax": lambda: nn.LogSoftmax(dim=1),
}
for name, make in NAMED_ACTIVATIONS.items():
    for bad in ANY_SHAPE_BAD:
        x, error, pattern = BAD_MATRICES[bad]
        case(name, bad, lambda make=make, x=x: make()(x), error, rf"^{name}: {pattern}")
    case(
        name,
        "backward before forward",
        lambda make=make: make().backward(good()),
        RuntimeError,
        rf"^{name}\.backward: backward\(\) called before forward\(\)",
    )

    def wrong_grad(make=make):
        act = make()
        act(good())
        return act.backward(np.ones((2, 3)))

    case(
        name,
        "grad_output of the wrong shape",
        wrong_grad,
        ValueError,
        rf"^{name}\.backward: expected grad_output of shape \(4, 3\).*got \(2, 3\)",
    )
for name in ("Sigmoid", "ReLU", "Tanh"):
    case(
        name,
        "derivative before forward",
        lambda name=name: NAMED_ACTIVATIONS[name]().derivative(),
        RuntimeError,
        rf"^{name}\.derivative: backward\(\) called before forward\(\)",
    )
case(
    "LeakyReLU",
    "negative_slope=NaN",
    lambda: nn.LeakyReLU(NAN),
    ValueError,
    r"^LeakyReLU: expected negative_slope to be finite, got nan",
)
case(
    "LeakyReLU",
    "negative_slope a string",
    lambda: nn.LeakyReLU("0.1"),
    TypeError,
    r"^LeakyReLU: expected negative_slope to be a number, got '0.1'",
)
case(
    "ELU",
    "alpha=inf",
    lambda: nn.ELU(INF),
    ValueError,
    r"^ELU: expected alpha to be finite, got inf",
)
for name in ("LeakyReLU", "ELU"):
    cls = getattr(nn, name)
    case(
        name,
        "inplace=True",
        lambda cls=cls: cls(inplace=True),
        ValueError,
        rf"^{name}: inplace=True is not supported \(its derivative needs the input",
    )
case(
    "GELU",
    "unknown approximate",
    lambda: nn.GELU("fast"),
    ValueError,
    r"^GELU: expected approximate 'none' or 'tanh', got 'fast'",
)
case(
    "Softplus",
    "beta=0",
    lambda: nn.Softplus(beta=0),
    ValueError,
    r"^Softplus: expected beta in \(0, inf\], got 0.0",
)
case(
    "Softplus",
    "beta=-1",
    lambda: nn.Softplus(beta=-1),
    ValueError,
    r"^Softplus: expected beta in \(0, inf\], got -1.0",
)
case(
    "Softplus",
    "threshold=NaN",
    lambda: nn.Softplus(threshold=NAN),
    ValueError,
    r"^Softplus: expected threshold to be finite, got nan",
)
for name in ("Softmax", "LogSoftmax"):
    cls = getattr(nn, name)
    case(
        name,
        "dim out of range",
        lambda cls=cls: cls(dim=2)(good()),
        ValueError,
        rf"^{name}: dim 2 is out of range for a 2-D input",
    )
    case(
        name,
        "dim 1 of a 0-d input",
        lambda cls=cls: cls(dim=1)(np.array(2.0)),
        ValueError,
        rf"^{name}: dim 1 is out of range for a 0-D input",
    )
    case(
        name,
        "dim a string",
        lambda cls=cls: cls(dim="1"),
        TypeError,
        rf"^{name}: expected dim to be an int or None, got '1'",
    )
    case(
        name,
        "dim a float",
        lambda cls=cls: cls(dim=1.0),
        TypeError,
        rf"^{name}: expected dim to be an int or None, got 1.0",
    )


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
