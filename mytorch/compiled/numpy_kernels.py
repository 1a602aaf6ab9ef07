"""The fused steps of the compiled step, done as in-place NumPy passes.

``bias_activation`` (a Linear's bias add and the activation after it) and
``times_derivative`` (a gradient times the activation's derivative) run the passes of
the reference layers, in the order the reference computes them, on the step's own
buffers: the values are the same bit for bit, with no allocation.
"""

from __future__ import annotations

import numpy as np

from mytorch.nn.functional import sigmoid

__all__ = ["NumpyKernels"]


class NumpyKernels:
    """The fused steps as in-place NumPy passes."""

    #: Activations with a fused kernel (the others run their modules' own code).
    FUSED_ACTIVATIONS = frozenset({"Identity", "Sigmoid", "Tanh", "ReLU"})

    @staticmethod
    def bias_activation(z: np.ndarray, bias: np.ndarray | None, name: str) -> None:
        """``z = f(z + bias)`` in place (no bias: ``z = f(z)``)."""
        if bias is not None:
            z += bias
        if name == "Sigmoid":
            sigmoid(z, out=z)
        elif name == "Tanh":
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
