"""Statistics of activation outputs: mean, spread, saturated and dead units, per layer."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mytorch.nn.activation import Activation, Sigmoid, Tanh
from mytorch.nn.module import Module

#: A sigmoid output below this or above 1 minus this counts as saturated
#: (``Sigmoid.saturation_bounds``: each activation declares its own).
SIGMOID_SATURATION = Sigmoid.saturation_bounds[0]
#: A tanh output with |y| above this counts as saturated (``Tanh.saturation_bounds``).
TANH_SATURATION = Tanh.saturation_bounds[1]


# ------------------------------------------------------------------ activation statistics
class _ActivationStats:
    """Running statistics of one activation's outputs, batch after batch.

    The mean and variance are merged batch by batch (Chan et al.'s pairwise update),
    which stays accurate where the textbook E[x^2] - E[x]^2 would cancel.
    """

    def __init__(self, module: Activation) -> None:
        self.kind = type(module).__name__
        self.saturation_bounds = module.saturation_bounds
        self.saturating = self.saturation_bounds is not None
        self.is_relu = module.dies_at_zero
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.saturated = 0
        self.alive: np.ndarray | None = None

    def add(self, output: np.ndarray) -> None:
        """Take in one batch of outputs, shape (N, units) (or (N,): one unit)."""
        values = output.reshape(len(output), -1) if output.ndim > 1 else output.reshape(-1, 1)
        n = values.size
        if n == 0:
            return
        batch_mean = float(values.mean(dtype=np.float64))
        batch_m2 = float(np.square(values - batch_mean, dtype=np.float64).sum())
        total = self.count + n
        delta = batch_mean - self.mean
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        if self.saturating:
            low, high = self.saturation_bounds
            tails = (values < low) | (values > high)
            self.saturated += int(np.count_nonzero(tails))
        if self.is_relu:
            fired = np.any(values != 0, axis=0)
            self.alive = fired if self.alive is None else self.alive | fired

    def result(self, layer: int) -> dict[str, Any]:
        units = None if self.alive is None else int(self.alive.size)
        return {
            "layer": layer,
            "kind": self.kind,
            "mean": _number(self.mean if self.count else math.nan),
            "std": _number(math.sqrt(self.m2 / self.count) if self.count else math.nan),
            "saturated": _number(self.saturated / self.count)
            if self.saturating and self.count
            else None,
            "dead": _number(1.0 - self.alive.mean()) if self.is_relu and units else None,
        }


def _number(value: float | np.floating) -> float | None:
    """A float for JSON: NaN and inf become None."""
    value = float(value)
    return value if math.isfinite(value) else None


def _leaves(model: Module) -> list[tuple[str, Module]]:
    """(name, module) of every module without sub-modules, in forward order."""
    return [
        (name or type(module).__name__, module)
        for name, module in model.named_modules()
        if not module._modules
    ]


def _layer_numbers(model: Module) -> dict[str, int]:
    """Number the layers as the notes do: each Linear starts a new layer, and the
    modules after it (batch norm, activation, dropout) belong to that layer."""
    numbers, layer = {}, 0
    for name, module in _leaves(model):
        if hasattr(module, "in_features"):  # an affine map: Linear
            layer += 1
        numbers[name] = max(layer, 1)
    return numbers


def _tracked_activations(model: Module) -> list[tuple[str, Activation]]:
    return [
        (name, module)
        for name, module in _leaves(model)
        if isinstance(module, Activation) and module.transforms_units
    ]


def activation_statistics(model: Module, X: np.ndarray) -> dict[str, dict[str, Any]]:
    """Run ``model`` on a probe batch in evaluation mode and describe each activation.

    Parameters
    ----------
    model : Module
        E.g. an ``nn.Sequential``; every activation module in it is described.
    X : numpy.ndarray
        Probe inputs, shape (N, in_features), cast to the model's dtype.

    Returns
    -------
    dict
        ``{module name: {"layer", "kind", "mean", "std", "saturated", "dead"}}``
        (see the module docstring; ``saturated`` is None except for Sigmoid and Tanh,
        ``dead`` None except for ReLU).

    Examples
    --------
    >>> from mytorch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU())
    >>> model[0].bias.data[:] = -10.0   # every pre-activation negative for small inputs
    >>> activation_statistics(model, np.zeros((4, 2)))["1"]["dead"]
    1.0
    """
    numbers = _layer_numbers(model)
    tracked = _tracked_activations(model)
    was_training = model.training
    model.eval()
    try:
        model(np.asarray(X, dtype=model.parameter_dtype()))
    finally:
        model.train(was_training)
    out = {}
    for name, module in tracked:
        stats = _ActivationStats(module)
        if module.state is not None:
            stats.add(module.state)
        out[name] = stats.result(numbers[name])
    return out
