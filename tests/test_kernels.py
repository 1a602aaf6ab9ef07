"""``mytorch/nn/kernels.py`` and ``mytorch/nn/functional.py``: each fast spelling equals
the plain formula it stands for, for every shape and dtype the layers hand it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mytorch.nn import functional, kernels

SHAPES = [(1, 1), (1, 7), (5, 1), (3, 4), (100, 64), (128, 300)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, n_in, n_out", [(1, 3, 2), (4, 5, 3), (100, 64, 10), (9, 256, 200)])
def test_weight_gradient_is_delta_transposed_times_x(batch, n_in, n_out, dtype):
    rng = np.random.default_rng(batch * n_in)
    delta = rng.standard_normal((batch, n_out)).astype(dtype)
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    out = np.full((n_out, n_in), np.nan, dtype)
    got = kernels.weight_gradient(delta, x, out)
    plain = delta.T.astype(np.float64) @ x.astype(np.float64)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, plain, rtol=tolerance, atol=tolerance * np.abs(plain).max())
    assert got.dtype == dtype and got.shape == (n_out, n_in)
    assert np.shares_memory(got, out)  # written into the buffer it was given


def test_weight_gradient_takes_the_transposed_product_for_large_weights():
    # Both spellings must give the product; the large one writes out through out.T.
    rng = np.random.default_rng(0)
    n_out, n_in = 256, kernels.TRANSPOSED_GEMM_MIN_SIZE // 256
    delta, x = rng.standard_normal((8, n_out)), rng.standard_normal((8, n_in))
    out = np.empty((n_out, n_in))
    got = kernels.weight_gradient(delta, x, out)
    assert out.size >= kernels.TRANSPOSED_GEMM_MIN_SIZE
    np.testing.assert_allclose(got, delta.T @ x, rtol=1e-12, atol=1e-12)
    assert got.flags.c_contiguous and np.shares_memory(got, out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_sum_is_the_sum_over_the_first_axis(shape, dtype):
    delta = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    got = kernels.batch_sum(delta)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, delta.sum(axis=0), rtol=tolerance, atol=tolerance)
    assert got.dtype == dtype and got.shape == (shape[1],)
    got[...] = 0.0  # a new array each call: changing it changes nothing else
    np.testing.assert_allclose(kernels.batch_sum(delta), delta.sum(axis=0), rtol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_functional_sigmoid_matches_the_formula_and_torch_without_overflow(dtype):
    x = np.array([-1e4, -745.0, -30.0, -1.0, 0.0, 1e-8, 2.5, 40.0, 1e4], dtype=dtype)
    with np.errstate(all="raise"):
        got = functional.sigmoid(x)
    np.testing.assert_allclose(got, torch.sigmoid(torch.from_numpy(x)).numpy(), rtol=1e-6)
    middle = np.abs(x) < 50
    np.testing.assert_allclose(got[middle], 1 / (1 + np.exp(-x[middle])), rtol=1e-6)
    same = x.copy()
    assert functional.sigmoid(same, out=same) is same  # in place when asked


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_functional_softmax_and_log_softmax_match_torch_along_any_axis(axis):
    x = np.random.default_rng(2).standard_normal((4, 5)) * 50
    expected = torch.softmax(torch.from_numpy(x), dim=axis).numpy()
    np.testing.assert_allclose(functional.softmax(x, axis), expected, rtol=1e-12, atol=1e-300)
    log_expected = torch.log_softmax(torch.from_numpy(x), dim=axis).numpy()
    np.testing.assert_allclose(functional.log_softmax(x, axis), log_expected, rtol=1e-12)


def test_functional_softplus_is_log_one_plus_exp_and_never_overflows():
    x = np.array([-800.0, -20.0, 0.0, 3.0, 800.0])
    with np.errstate(all="raise"):
        got = functional.softplus(x)
    np.testing.assert_allclose(got, torch.nn.functional.softplus(torch.from_numpy(x)).numpy())
    np.testing.assert_allclose(got[1:4], np.log1p(np.exp(x[1:4])), rtol=1e-14)


# The activations' backward kernels against the layers' plain spelling, grad * f'(y),
# with f' as each layer's derivative() computes it from the output y.
PLAIN_SLOPES = {
    "relu_backward": lambda y: (y > 0).astype(y.dtype),
    "sigmoid_backward": lambda y: y * (1.0 - y),
    "tanh_backward": lambda y: 1.0 - y * y,
}
OUTPUT_RANGE = {"relu_backward": (-3, 3), "sigmoid_backward": (0, 1), "tanh_backward": (-1, 1)}


@pytest.mark.parametrize("kernel", PLAIN_SLOPES)
@pytest.mark.parametrize("shape", [(), (1,), *SHAPES, (2, 3, 4)])
@pytest.mark.parametrize(
    "grad_dtype, output_dtype",
    [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64),
     (np.float64, np.float32)],
)  # fmt: skip
def test_activation_backward_kernels_are_grad_times_the_derivative_to_the_bit(
    kernel, shape, grad_dtype, output_dtype
):
    rng = np.random.default_rng(len(shape) * 7 + sum(shape))
    low, high = OUTPUT_RANGE[kernel]
    output = np.asarray(rng.uniform(low, high, shape).astype(output_dtype))
    grad = np.asarray(rng.standard_normal(shape).astype(grad_dtype))
    if output.size >= 4:  # the edges: a zero output, the ends of the range, a -0 product
        output.flat[:3] = [0.0, low, high]
        grad.flat[3] = -grad.flat[3] if grad.flat[3] > 0 else grad.flat[3]
    before = (grad.copy(), output.copy())
    got = getattr(kernels, kernel)(grad, output)
    plain = np.asarray(grad * PLAIN_SLOPES[kernel](output))
    assert isinstance(got, np.ndarray) and got.shape == shape and got.dtype == plain.dtype
    assert got.tobytes() == plain.tobytes()  # the same bits, signs of zeros included
    np.testing.assert_array_equal(grad, before[0])  # neither input is written
    np.testing.assert_array_equal(output, before[1])
    assert not np.shares_memory(got, grad) and not np.shares_memory(got, output)


@pytest.mark.parametrize("kernel", PLAIN_SLOPES)
def test_activation_backward_kernels_pass_nan_and_inf_on_as_the_plain_product(kernel):
    output = np.array([0.5, 0.0, 0.25, 0.75])
    grad = np.array([np.nan, np.inf, -np.inf, 1.0])
    with np.errstate(all="ignore"):  # inf * 0 is invalid: NaN, as in the plain product
        got = getattr(kernels, kernel)(grad, output)
        plain = grad * PLAIN_SLOPES[kernel](output)
    np.testing.assert_array_equal(got, plain)
