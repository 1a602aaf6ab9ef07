"""Fast spellings of the layers' formulas: same values, fewer passes or faster BLAS calls.

The layers in ``mytorch/nn`` read as their equations; where a formula has a faster form
that NumPy or BLAS runs better, the layer calls the function here by the formula's
name. Each function states the formula it computes, and ``tests/test_kernels.py`` holds
it equal to that formula. A learner never needs to read this file to follow a layer.

The timings quoted were measured on this project's 2-core machine with OpenBLAS
(``bench/README.md`` has the method).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "TRANSPOSED_GEMM_MIN_SIZE",
    "batch_sum",
    "relu_backward",
    "sigmoid_backward",
    "tanh_backward",
    "weight_gradient",
]

#: Weight matrices with at least this many entries get their gradient from the
#: transposed product (see :func:`weight_gradient`).
TRANSPOSED_GEMM_MIN_SIZE = 32768


def weight_gradient(delta: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Return delta^T x, shape (out_features, in_features), written into ``out``.

    Parameters
    ----------
    delta : numpy.ndarray, shape (N, out_features)
    x : numpy.ndarray, shape (N, in_features)
    out : numpy.ndarray, shape (out_features, in_features), C-contiguous

    Notes
    -----
    Two spellings of the same product: for large weights OpenBLAS is 13-24% faster
    computing x^T delta into the transpose of ``out`` than delta^T x into ``out``; for
    small ones, and for a batch of one (an outer product, which ``matmul`` leaves to a
    slow non-BLAS loop), ``np.dot`` wins.
    """
    if delta.shape[0] > 1 and out.size >= TRANSPOSED_GEMM_MIN_SIZE:
        return np.matmul(x.T, delta, out=out.T).T
    return np.dot(delta.T, x, out=out)


def batch_sum(delta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Return ``delta.sum(axis=0)`` for a 2-D ``delta`` (N, F): shape (F,), a new array or
    ``out``.

    Computed as ones(N) @ delta: BLAS's matrix-vector product is 2-3x faster than
    ``sum(axis=0)`` for the layer sizes MyTorch is for (5.8 -> 2.3 us for 100 x 64).
    """
    return np.dot(_ones(delta.shape[0], delta.dtype), delta, out=out)


# The activations' chain rule, grad_output * f'(z), with f' computed from the output
# y = f(z). The layers' plain spelling, ``grad_output * self.derivative()``, makes f' as
# an array of its own and then a second new array for the product; these make one new
# array and write each step into it. Every operation is the plain spelling's, on the
# same operands in the same order and dtypes, so the result is the same to the bit
# (``tests/test_kernels.py``); the product's dtype is that of grad_output * y.


def relu_backward(grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Return ``grad_output * (output > 0)``: ReLU's backward, f'(z) = 1 where y > 0.

    The mask is cast to the product's dtype inside the multiplication instead of being
    made a float array first (``ReLU.derivative``). Any shape (0-d included); a new array.
    """
    # promote_types, not result_type: the same dtype here, and result_type's dispatch
    # (``__array_function__``, looked up on each dtype) costs more than the product.
    dtype = np.promote_types(grad_output.dtype, output.dtype)
    return np.asarray(np.multiply(grad_output, output > 0, dtype=dtype))


def sigmoid_backward(grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Return ``grad_output * (s * (1 - s))`` for ``s = output``: Sigmoid's backward.

    Any shape (0-d included); one new array, in place after its first pass.
    """
    slope = np.subtract(1.0, output, out=np.empty_like(output))  # 1 - s, in s's dtype
    np.multiply(output, slope, out=slope)  # f' = s (1 - s)
    return _times_slope(grad_output, slope)


def tanh_backward(grad_output: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Return ``grad_output * (1 - t * t)`` for ``t = output``: Tanh's backward.

    Any shape (0-d included); one new array, in place after its first pass.
    """
    slope = np.multiply(output, output, out=np.empty_like(output))  # t^2, in t's dtype
    np.subtract(1.0, slope, out=slope)  # f' = 1 - t^2
    return _times_slope(grad_output, slope)


def _times_slope(grad_output: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """``grad_output * slope``, into ``slope`` when the product has its dtype."""
    if grad_output.dtype == slope.dtype:
        return np.multiply(grad_output, slope, out=slope)
    return np.asarray(grad_output * slope)  # promoted: a new array of the wider dtype


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    ones = np.ones(n, dtype)
    ones.flags.writeable = False  # shared between calls: nobody may change it
    return ones
