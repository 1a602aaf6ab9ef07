"""``compile_predict``: an evaluation-mode forward with BatchNorm folded into the Linear.

In evaluation mode a BatchNorm is a fixed affine map per feature,
y = gamma (x - mu) / sqrt(var + eps) + beta = x s + (beta - mu s) with
s = gamma / sqrt(var + eps), so after a Linear (x W^T + b) the two are one Linear:

    W' = s[:, None] * W,    b' = s (b - mu) + beta.

Dropout is the identity in evaluation mode. What is left is a chain of Linear layers
and activations, run on preallocated buffers (one set per batch size) with the bias add
and the activation in one pass. The folded weights are copies taken when the predictor
is made: it does not follow later training (:meth:`Predictor.is_current` tells).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.compiled.kernels import for_backend
from mytorch.compiled.plan import Unsupported, chain_of
from mytorch.nn.module import Module
from mytorch.underflow import quiet_underflow
from mytorch.validation import assume_finite, check_float_array

__all__ = ["Predictor"]


class _Affine:
    """A Linear (or a lone BatchNorm) as ``x W^T + b``, folded, with what follows it."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None) -> None:
        self.weight = weight
        self.bias = bias
        self.activation: str | None = None  # fused activation after it
        self.after: list[Module] = []  # activations without a fused kernel, in order


def _batchnorm_scale_shift(bn: Any) -> tuple[np.ndarray, np.ndarray]:
    """(s, shift) of the eval-mode BatchNorm as x s + shift (running statistics)."""
    if not bn.track_running_stats:
        raise Unsupported(
            "a BatchNorm1d without running statistics normalises with the batch's own, "
            "even in eval mode: it cannot be folded"
        )
    inv_std = 1.0 / np.sqrt(bn._buffers["running_var"] + bn.eps)
    scale = inv_std if bn.weight is None else bn.weight.data * inv_std
    shift = -bn._buffers["running_mean"] * scale
    if bn.bias is not None:
        shift = shift + bn.bias.data
    return scale, shift


class Predictor:
    """Evaluation-mode forward of a model, folded and compiled. Made by
    :func:`mytorch.compile_predict`.

    Attributes
    ----------
    backend : str
        "numba" or "numpy".
    folded : int
        How many BatchNorm layers were folded into the Linear before them.
    """

    def __init__(self, model: Module, backend: str) -> None:
        self.model = model
        self.backend = backend
        self._kernels = for_backend(backend)
        self._snapshot = [p.data.copy() for p in model.parameters()]
        self._snapshot += [b.copy() for _, b in model.named_buffers()]
        self.folded = 0
        self._layers: list[_Affine] = []
        for name, module in chain_of(model):
            self._add(name, module)
        if not self._layers:
            raise Unsupported("the model has no Linear layer")
        first = chain_of(model)[0][1]
        self.in_features = first.in_features
        self.dtype = self._layers[0].weight.dtype
        self._buffers: dict[int, list[np.ndarray]] = {}
        self._chain = self._compiled_chain()

    def _compiled_chain(self) -> tuple | None:
        """The arguments of ``numba_loops.forward_chain`` when the whole forward can run as
        one compiled call (numba; every layer a Linear with Identity or ReLU after it): at
        batch size 1 the per-layer calls from Python cost as much as a tenth of the
        products. None otherwise."""
        if self.backend != "numba":
            return None
        if any(
            layer.after or layer.activation not in (None, "Identity", "ReLU")
            for layer in self._layers
        ):
            return None
        from mytorch.compiled.numba_blas import blas_addresses
        from mytorch.compiled.numba_loops import ACTIVATION_CODES

        empty = np.zeros(1, self.dtype)
        return (
            tuple(np.ascontiguousarray(layer.weight) for layer in self._layers),
            tuple(empty if layer.bias is None else layer.bias for layer in self._layers),
            np.array([layer.bias is not None for layer in self._layers]),
            np.array([ACTIVATION_CODES[layer.activation or "Identity"] for layer in self._layers]),
            blas_addresses(self.dtype),
        )

    def _add(self, name: str, module: Module) -> None:
        kind = name
        if kind == "Linear":
            bias = None if module.bias is None else module.bias.data.copy()
            self._layers.append(_Affine(module.weight.data.copy(), bias))
        elif kind == "BatchNorm1d":
            scale, shift = _batchnorm_scale_shift(module)
            last = self._layers[-1] if self._layers else None
            if last is not None and last.activation is None and not last.after:
                last.weight *= scale[:, None]  # W' = s W
                bias = last.bias if last.bias is not None else np.zeros_like(scale)
                last.bias = bias * scale + shift  # b' = s b + (beta - mu s)
                self.folded += 1
            else:  # after an activation: a diagonal Linear of its own
                self._layers.append(_Affine(np.diag(scale).astype(scale.dtype), shift))
        elif kind == "Dropout":
            return  # the identity in evaluation mode
        elif kind in self._kernels.FUSED_ACTIVATIONS:
            last = self._layers[-1]
            if last.activation is None and not last.after:
                last.activation = kind
            else:
                last.after.append(module)
        else:
            if not self._layers:
                raise Unsupported(f"the model starts with {kind}, not a Linear layer")
            self._layers[-1].after.append(module)

    def is_current(self) -> bool:
        """Whether the model's parameters and buffers are still those folded (one pass)."""
        current = [p.data for p in self.model.parameters()]
        current += [b for _, b in self.model.named_buffers()]
        return len(current) == len(self._snapshot) and all(
            a.shape == b.shape and np.array_equal(a, b)
            for a, b in zip(current, self._snapshot, strict=True)
        )

    @quiet_underflow.wrap
    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The model's evaluation-mode output for ``X`` (N, in_features): a new array."""
        first = "Linear"
        check_float_array(X, first, features=self.in_features, dtype=self.dtype)
        buffers = self._buffers.get(X.shape[0])
        if buffers is None:
            if len(self._buffers) > 4:
                self._buffers.clear()
            buffers = self._buffers[X.shape[0]] = [
                np.empty((X.shape[0], layer.weight.shape[0]), self.dtype) for layer in self._layers
            ]
        if self._chain is not None and X.flags.c_contiguous:
            from mytorch.compiled.numba_loops import forward_chain

            weights, biases, has_bias, codes, blas = self._chain
            out = forward_chain(X, weights, biases, has_bias, codes, tuple(buffers), blas)
            return np.array(out, copy=True)
        a = X
        with assume_finite():
            for layer, out in zip(self._layers, buffers, strict=True):
                np.matmul(a, layer.weight.T, out=out)
                self._kernels.bias_activation(out, layer.bias, layer.activation or "Identity")
                a = out
                for module in layer.after:
                    a = module(a)
        return np.array(a, copy=True)
