"""The fused steps of the compiled step, done as in-place NumPy passes.

``bias_activation`` (a Linear's bias add and the activation after it) and
``times_derivative`` (a gradient times the activation's derivative) run the passes of
the reference layers, in the order the reference computes them, on the step's own
buffers: the values are the same bit for bit, with no allocation. Where a pass is
spelled differently (the sigmoid's bias add folded into its negation), the two
spellings round identically, which ``tests/test_compiled.py`` checks bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from mytorch.validation import all_finite

__all__ = ["NumpyKernels", "mean_cross_entropy"]


class NumpyKernels:
    """The fused steps as in-place NumPy passes."""

    #: Activations with a fused kernel (the others run their modules' own code).
    FUSED_ACTIVATIONS = frozenset({"Identity", "Sigmoid", "Tanh", "ReLU"})

    @staticmethod
    def bias_activation(z: np.ndarray, bias: np.ndarray | None, name: str) -> None:
        """``z = f(z + bias)`` in place (no bias: ``z = f(z)``)."""
        if name == "Sigmoid":
            # sigmoid's four passes with the bias add folded into its negation:
            # (-b) - z is -(z + b) exactly (negation is exact, rounding symmetric).
            if bias is None:
                np.negative(z, out=z)
            else:
                np.subtract(np.negative(bias), z, out=z)
            with np.errstate(over="ignore"):  # exp(-z) = inf gives 1 / inf = 0, exactly
                np.exp(z, out=z)
            z += 1.0
            # 1 / z by division: the same correctly rounded quotient as np.reciprocal,
            # which NumPy does not vectorise for float64.
            np.divide(1.0, z, out=z)
            return
        if bias is not None:
            z += bias
        if name == "Tanh":
            np.tanh(z, out=z)
        elif name == "ReLU":
            np.maximum(z, 0, out=z)

    @staticmethod
    def times_derivative(
        delta: np.ndarray, output: np.ndarray, name: str, scratch: np.ndarray
    ) -> None:
        """``delta *= f'(z)`` in place, f' from the output ``f(z)`` (as the layers do)."""
        if name == "Identity":
            return
        if name == "ReLU":
            delta *= output > 0  # f' = 1 where f(z) > 0, else 0
            return
        t = scratch[: delta.shape[0], : delta.shape[1]]
        if name == "Sigmoid":
            np.subtract(1.0, output, out=t)
            t *= output  # s (1 - s)
        else:  # Tanh
            np.multiply(output, output, out=t)
            np.subtract(1.0, t, out=t)  # 1 - t^2
        delta *= t


def mean_cross_entropy(logits: np.ndarray, labels: np.ndarray, grad: np.ndarray) -> float:
    """The mean softmax cross-entropy of ``logits`` (N, C) against class indices
    ``labels`` (N,); its gradient with respect to the logits goes into ``grad`` (N, C).

    The passes of ``CrossEntropyLoss``'s training case (class indices, 'mean', no
    weights, no smoothing), in its order, with the same bits, into the step's buffer
    instead of new arrays and without the module's checks (the step checks its batches
    and labels itself): l_i = log sum_c exp(s_ic) - s_iy with s = logits - max, and the
    gradient (softmax - one_hot) / N. NaN when a row's largest logit is NaN or inf:
    nothing is computed then (the caller runs the loss's own code, which names the bad
    values).
    """
    n, c = logits.shape
    top = np.maximum.reduce(logits, axis=1, keepdims=True)
    if not all_finite(top):
        return math.nan  # NaN or inf logits: the caller runs the loss's own code
    np.subtract(logits, top, out=grad)
    flat = np.arange(0, n * c, c)  # the flat index of each row's target
    flat += labels.astype(np.intp, copy=False)
    picked = grad.ravel()[flat]  # s_iy, taken before exp overwrites s
    np.exp(grad, out=grad)
    total = np.add.reduce(grad, axis=1)
    per = np.log(total)
    per -= picked
    total *= n
    grad /= total[:, None]
    grad.ravel()[flat] -= 1.0 / n
    return float(logits.dtype.type(np.add.reduce(per) / n))
