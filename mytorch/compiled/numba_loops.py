"""The compiled step's loops, compiled with numba (the optional ``fast`` extra).

Each loop performs, per element, the operations of the NumPy pass it replaces, in the
same order and in the arrays' dtype (constants arrive cast to it): a sigmoid is
``1 / (1 + exp(-(z + b)))``, its derivative ``s (1 - s)``, the softmax cross-entropy the
reference's log-sum-exp. Only ``exp``/``tanh`` (LLVM's libm, or the whole epoch's own
vectorised exp for the sigmoid, instead of NumPy's) and the order of a few sums differ,
by a last bit. No ``fastmath``: every operation rounds as written.

:func:`train_epoch` runs a whole epoch of a plain network (Linear layers with Identity,
Sigmoid, Tanh or ReLU between them, softmax cross-entropy, SGD or Adam) in one call: the
loop over the batches, the matrix products (``numba_blas.gemm``: on NumPy's own BLAS
where it can), the loss and the update. That is what small
batches need: at batch size 1 the per-step Python work is most of the time. The layers
arrive as tuples of arrays (one compiled version per depth and dtype, cached on disk by
numba).

numba is imported when this module is (``mytorch.compiled.kernels.for_backend`` imports
it only for the "numba" backend).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from mytorch.compiled.numba_blas import gemm
from mytorch.compiled.numpy_kernels import NumpyKernels

__all__ = ["ACTIVATION_CODES", "NumbaKernels", "forward_chain", "train_epoch"]

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")

#: Activation -> the code the loops switch on.
ACTIVATION_CODES = {"Identity": 0, "Sigmoid": 1, "Tanh": 2, "ReLU": 3}


# ---------------------------------------------------------------------- elementwise
@_jit
def _cast(like, value):
    """``value`` in ``like``'s dtype (numba has no ``dtype.type(value)`` cast)."""
    out = np.empty(1, like.dtype)
    out[0] = value
    return out[0]


@_jit
def _activate(t, code, one, zero):
    if code == 1:
        return one / (one + np.exp(-t))
    if code == 2:
        return np.tanh(t)
    if code == 3:
        return t if t > zero else zero
    return t


@_jit
def _slope(s, code, one, zero):
    """f'(z) from the output s = f(z)."""
    if code == 1:
        return (one - s) * s
    if code == 2:
        return one - s * s
    if code == 3:
        return one if s > zero else zero
    return one


@_jit
def _bias_activation(z, bias, has_bias, code, one, zero):
    rows, cols = z.shape
    for i in range(rows):
        for j in range(cols):
            t = z[i, j] + bias[j] if has_bias else z[i, j]
            z[i, j] = _activate(t, code, one, zero)


# exp(u) = 2^k e^r with k = round(u / ln 2) and |r| <= ln(2) / 2: ln 2 in two parts
# (Cody and Waite), so that u - k ln 2 is exact, and e^r by its Taylor series to r^13
# (the first term left out is below 2^-60 of the sum).
_LOG2_E = 1.4426950408889634
_LN2_HIGH = 6.93147180369123816490e-01
_LN2_LOW = 1.90821492927058770002e-10
_T = tuple(1.0 / math.factorial(n) for n in range(14))


@_jit
def _sigmoid_rows(z, bias, has_bias, work, bits):
    """``z = 1 / (1 + exp(-(z + bias)))`` in place, with an exp that LLVM vectorises.

    numba's ``np.exp`` calls the C library's scalar exp; NumPy's runs 8 (float64) or 16
    (float32) lanes at once, and a whole-epoch loop that calls the scalar one spends a
    third of an hw1 step on it. This exp is plain arithmetic (no calls, no branches: the
    comparisons become selects), in float64 for both dtypes: within 1.4 ulp of NumPy's
    in float64 (95% of values equal), and NaN stays NaN, +-inf give 0 and 1, as there.
    ``work`` (2, columns) float64 and ``bits`` (columns,) int64 are scratch rows.
    """
    rows, cols = z.shape
    powers = bits.view(np.float64)  # 2^k, written as its bits
    exponents, series = work[0], work[1]
    for i in range(rows):
        for j in range(cols):
            u = -np.float64(z[i, j] + bias[j] if has_bias else z[i, j])
            k = min(max(np.floor(u * _LOG2_E + 0.5), -1022.0), 1024.0)  # 1024: inf
            r = (u - k * _LN2_HIGH) - k * _LN2_LOW
            exponents[j] = u
            series[j] = _T[0] + r * (_T[1] + r * (_T[2] + r * (_T[3] + r * (_T[4] + r * (
                _T[5] + r * (_T[6] + r * (_T[7] + r * (_T[8] + r * (_T[9] + r * (
                    _T[10] + r * (_T[11] + r * (_T[12] + r * _T[13]))))))))))))  # fmt: skip
            bits[j] = (np.int64(k) + 1023) << 52
        for j in range(cols):
            u = exponents[j]
            e = series[j] * powers[j]
            e = 0.0 if u < -708.0 else e  # below 2^-1022: 1 + e is 1
            e = np.inf if u > 709.78 else e  # overflow, as exp's
            z[i, j] = 1.0 / (1.0 + e)


@_jit
def _times_derivative(delta, output, code, one, zero):
    rows, cols = delta.shape
    for i in range(rows):
        for j in range(cols):
            delta[i, j] = delta[i, j] * _slope(output[i, j], code, one, zero)


@_jit
def _softmax_cross_entropy(logits, labels, grad, mean):
    """Loss (mean or sum over rows) and its gradient into ``grad``, one pass per row."""
    rows, cols = logits.shape
    one = _cast(logits, 1.0)
    scale = one / _cast(logits, rows) if mean else one
    total_loss = 0.0
    for i in range(rows):
        top = logits[i, 0]
        for j in range(1, cols):
            if logits[i, j] > top:
                top = logits[i, j]
        total = _cast(logits, 0.0)
        for j in range(cols):
            e = np.exp(logits[i, j] - top)
            grad[i, j] = e
            total += e
        target = labels[i]
        total_loss += np.log(total) - (logits[i, target] - top)
        denominator = total / scale
        for j in range(cols):
            grad[i, j] = grad[i, j] / denominator
        grad[i, target] -= scale
    return total_loss / rows if mean else total_loss


@_jit
def _all_finite(a):
    """Whether every entry of the 2-D ``a`` is finite (x - x is 0 only for finite x)."""
    rows, cols = a.shape
    for i in range(rows):
        total = 0.0
        for j in range(cols):
            total += a[i, j] - a[i, j]
        if total != 0.0 or total != total:  # NaN: inf - inf, or NaN itself
            return False
    return True


@_jit
def _column_sums(delta, out):
    rows, cols = delta.shape
    for j in range(cols):
        out[j] = 0
    for i in range(rows):
        for j in range(cols):
            out[j] += delta[i, j]


# ---------------------------------------------------------------------- optimisers
@_jit
def _sgd(data, grad, buffer, lr, momentum, weight_decay, nesterov, first):
    for i in range(data.size):
        g = grad[i] + data[i] * weight_decay if weight_decay != 0 else grad[i]
        if momentum != 0:
            b = g if first else buffer[i] * momentum + g
            buffer[i] = b
            g = g + b * momentum if nesterov else b
        data[i] = data[i] - g * lr


@_jit
def _adam(data, grad, m, v, decay, beta1, beta2, one_minus_beta1, one_minus_beta2, eps,
          step_size, weight_decay):  # fmt: skip
    for i in range(data.size):
        g = grad[i] + data[i] * weight_decay if weight_decay != 0 else grad[i]
        mi = m[i] + (g - m[i]) * one_minus_beta1
        vi = v[i] * beta2 + (g * g) * one_minus_beta2
        m[i] = mi
        v[i] = vi
        data[i] = data[i] * decay - (mi / (np.sqrt(vi) + eps)) * step_size


# ---------------------------------------------------------------------- a whole epoch
@_jit
def train_epoch(X, y, order, batch, weights, biases, has_bias, codes, grad_w, grad_b, outs,
                backs, loss_grad, flat_data, flat_grad, state_a, state_b, kind, hyper, start,
                mean, blas):  # fmt: skip
    """Train one epoch; return (loss sum, errors, steps, where it stopped, why).

    ``kind`` 0: SGD with ``hyper`` = (lr, momentum, weight_decay, nesterov); ``state_a``
    its momentum buffer (``start`` > 0: not the first step). ``kind`` 1: Adam(W) with
    ``hyper`` = (lr, beta1, beta2, eps, weight_decay, decoupled); ``state_a``/``state_b``
    its moments and ``start`` the steps done so far. Returns the per-sample losses summed,
    the arg-max errors, the steps done, and -1, or the first row of the batch whose logits
    held NaN or inf: the epoch stops there, before that batch's update, as the reference
    trainer's guard stops it; last, whether it stopped because that batch itself held NaN
    or inf (found from its first product, as the first Linear's check would find it).
    ``blas``: the addresses of NumPy's own BLAS products for ``numba_blas.gemm`` (zeros:
    numba's ``np.dot``, on SciPy's BLAS).
    """
    n = order.size if order.size else X.shape[0]  # the rows of order, or all of X's
    one, zero = _cast(X, 1.0), _cast(X, 0.0)
    layers = len(weights)
    widest = 1
    for k in range(layers):
        widest = max(widest, outs[k].shape[1])
    work = np.empty((2, widest))  # the sigmoid's scratch rows
    bits = np.empty(widest, np.int64)
    loss_sum = 0.0
    errors = 0
    step = start
    begin = 0
    while begin < n:
        stop = min(begin + batch, n)
        rows = stop - begin
        if order.size:
            xb = np.empty((rows, X.shape[1]), X.dtype)
            yb = np.empty(rows, y.dtype)
            for r in range(rows):
                xb[r] = X[order[begin + r]]
                yb[r] = y[order[begin + r]]
        else:
            xb = X[begin:stop]
            yb = y[begin:stop]
        # forward
        a = xb
        for k in range(layers):
            out = outs[k][:rows]
            gemm(blas, a, False, weights[k], True, out)
            # NaN or inf in the batch makes its rows of x W^T NaN or inf: look there (a
            # smaller array), and in the batch itself only then.
            if k == 0 and not _all_finite(out) and not _all_finite(xb):
                return loss_sum, errors, step, begin, True
            if codes[k] == 1:
                _sigmoid_rows(out, biases[k], has_bias[k], work, bits)
            else:
                _bias_activation(out, biases[k], has_bias[k], codes[k], one, zero)
            a = out
        logits = a
        for r in range(rows):
            for j in range(logits.shape[1]):
                if not np.isfinite(logits[r, j]):
                    return loss_sum, errors, step, begin, False
        for r in range(rows):
            best = 0
            for j in range(1, logits.shape[1]):
                if logits[r, j] > logits[r, best]:
                    best = j
            if best != yb[r]:
                errors += 1
        delta = loss_grad[:rows]
        loss = _softmax_cross_entropy(logits, yb, delta, mean)
        loss_sum += loss * rows if mean else loss
        # backward
        for k in range(layers - 1, -1, -1):
            if k < layers - 1:
                _times_derivative(delta, outs[k][:rows], codes[k], one, zero)
            inputs = outs[k - 1][:rows] if k > 0 else xb
            gemm(blas, delta, True, inputs, False, grad_w[k])
            if has_bias[k]:
                _column_sums(delta, grad_b[k])
            if k > 0:
                nxt = backs[k][:rows]
                gemm(blas, delta, False, weights[k], False, nxt)
                delta = nxt
        # update
        if kind == 0:
            _sgd(flat_data, flat_grad, state_a, _cast(X, hyper[0]), _cast(X, hyper[1]),
                 _cast(X, hyper[2]), hyper[3] != 0, step == 0)  # fmt: skip
        else:
            step += 1
            lr, beta1, beta2, eps, weight_decay = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
            decoupled = hyper[5] != 0
            decay = 1 - lr * weight_decay if decoupled else 1.0
            correction1 = 1 - beta1**step
            correction2_sqrt = (1 - beta2**step) ** 0.5
            _adam(flat_data, flat_grad, state_a, state_b, _cast(X, decay), _cast(X, beta1),
                  _cast(X, beta2), _cast(X, 1 - beta1), _cast(X, 1 - beta2),
                  _cast(X, eps * correction2_sqrt), _cast(X, lr * correction2_sqrt / correction1),
                  _cast(X, 0.0 if decoupled else weight_decay))  # fmt: skip
        if kind == 0:
            step += 1
        begin = stop
    return loss_sum, errors, step, -1, False


@_jit
def forward_chain(x, weights, biases, has_bias, codes, outs, blas):
    """``compile_predict``'s forward in one call: for each layer ``out = f(a W^T + b)``
    into its buffer (Identity or ReLU: the NumPy passes' bits), the products through
    ``numba_blas.gemm``. Returns the last buffer."""
    one, zero = _cast(x, 1.0), _cast(x, 0.0)
    a = x
    for k in range(len(weights)):
        out = outs[k]
        gemm(blas, a, False, weights[k], True, out)
        _bias_activation(out, biases[k], has_bias[k], codes[k], one, zero)
        a = out
    return a


class NumbaKernels:
    """The fused steps as compiled loops (the interface of ``kernels.NumpyKernels``).

    Used one mini-batch at a time (models with BatchNorm or dropout, losses other than
    the cross-entropy), where every other value comes from the reference's NumPy code:
    only loops that give the NumPy passes' exact bits are used there (bias + ReLU or
    identity, every derivative), and the sigmoid and tanh themselves stay NumPy's, whose
    ``exp``/``tanh`` LLVM's may differ from in the last bit. That keeps a model whose
    parameters amplify rounding noise (a Linear's bias before a BatchNorm has a zero
    gradient in exact arithmetic, and Adam turns its noise into steps of size lr)
    exactly on the reference's path.
    """

    FUSED_ACTIVATIONS = frozenset(ACTIVATION_CODES)

    @staticmethod
    def bias_activation(z: np.ndarray, bias: np.ndarray | None, name: str) -> None:
        """``z = f(z + bias)`` in place (no bias: ``z = f(z)``)."""
        if name in ("Sigmoid", "Tanh"):
            NumpyKernels.bias_activation(z, bias, name)
            return
        dtype = z.dtype.type
        has_bias = bias is not None
        _bias_activation(
            z, bias if has_bias else z[0], has_bias, ACTIVATION_CODES[name], dtype(1), dtype(0)
        )

    @staticmethod
    def times_derivative(
        delta: np.ndarray, output: np.ndarray, name: str, scratch: np.ndarray
    ) -> None:
        """``delta *= f'(z)`` in place, f' from the output ``f(z)``."""
        dtype = delta.dtype.type
        _times_derivative(delta, output, ACTIVATION_CODES[name], dtype(1), dtype(0))
