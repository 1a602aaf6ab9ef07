"""All parameters, their gradients and the optimiser's state as views of a few flat arrays.

An optimiser's update is the same elementwise rule for every parameter, so over one flat
array it is one call instead of one per parameter (a small model has eight parameters:
eight times the fixed cost of a dozen NumPy calls, each step). :class:`FlatParameters`
copies the parameters into one array and makes each ``Parameter.data`` a view of its
slice; gradients and the optimiser's state arrays (``momentum_buffer``, ``exp_avg``,
``exp_avg_sq``) get the same treatment, under the same names in ``optimizer.state`` as
the reference optimiser keeps them. The model, ``optimizer.state_dict()`` and
checkpoints see ordinary arrays of the usual shapes.

If anything replaces one of those arrays (``optimizer.load_state_dict`` when resuming,
``param.data = ...``), :meth:`FlatParameters.in_place` notices and the step copies the
new values back in before it updates.
"""

from __future__ import annotations

from operator import is_
from typing import Any

import numpy as np

__all__ = ["FlatParameters", "STATE_NAMES"]

#: The optimiser state arrays each compiled optimiser keeps per parameter.
STATE_NAMES = {"SGD": ("momentum_buffer",), "Adam": ("exp_avg", "exp_avg_sq")}
STATE_NAMES["AdamW"] = STATE_NAMES["Adam"]
_NO_STATE: dict[str, Any] = {}


class FlatParameters:
    """Flat ``data``, ``grad`` and optimiser-state arrays whose slices are the parameters'.

    Parameters
    ----------
    parameters : list of Parameter
        Every parameter the step updates, one dtype.
    optimizer : Optimizer
        Its ``state`` entries for these parameters are adopted (copied in) if present.
    kind : str
        "SGD", "Adam" or "AdamW".

    Attributes
    ----------
    data, grad : numpy.ndarray
        Shape (total,), the parameters' dtype.
    state : dict of str to numpy.ndarray
        Flat optimiser state by name; empty until the first step creates it.
    step : int
        Adam's step count (the same for every parameter: they are always updated together).
    """

    def __init__(self, parameters: list[Any], optimizer: Any, kind: str) -> None:
        self.parameters = parameters
        self.optimizer = optimizer
        self.kind = kind
        self.names = STATE_NAMES[kind] if _has_state(optimizer, kind) else ()
        dtype = parameters[0].data.dtype
        sizes = [p.data.size for p in parameters]
        self.bounds = np.cumsum([0, *sizes]).tolist()
        self.data = np.empty(self.bounds[-1], dtype)
        self.grad = np.zeros(self.bounds[-1], dtype)
        self.state: dict[str, np.ndarray] = {}
        self.step = 0
        self._data_views = self._views(self.data)
        self._grad_views = self._views(self.grad)
        for param, view in zip(parameters, self._data_views, strict=True):
            view[...] = param.data
            param.data = view
        self._state_views: dict[str, list[np.ndarray]] = {}
        self.adopt_state()

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [
            flat[start:stop].reshape(param.data.shape)
            for param, start, stop in zip(
                self.parameters, self.bounds[:-1], self.bounds[1:], strict=True
            )
        ]

    # ------------------------------------------------------------------ optimiser state
    def adopt_state(self) -> None:
        """Copy the optimiser's current state for these parameters into flat arrays.

        With no state yet (no step taken) nothing is made: the first step starts it.
        """
        states = [self.optimizer.state.get(param) or {} for param in self.parameters]
        if not self.names or not all(name in states[0] for name in self.names):
            self.state, self._state_views = {}, {}
            self.step = 0
            return
        for name in self.names:
            flat = np.empty_like(self.data)
            views = self._views(flat)
            for view, state in zip(views, states, strict=True):
                view[...] = state[name]
                state[name] = view
            self.state[name], self._state_views[name] = flat, views
        steps = {int(state.get("step", 0)) for state in states}
        if len(steps) > 1:
            raise ValueError(f"compiled step: the parameters' step counts differ: {steps}")
        self.step = steps.pop()

    def start_state(self) -> None:
        """Make the flat state arrays (zeros) and hand their views to the optimiser."""
        for name in self.names:
            flat = np.zeros_like(self.data)
            views = self._views(flat)
            for param, view in zip(self.parameters, views, strict=True):
                self.optimizer.state[param][name] = view
            self.state[name], self._state_views[name] = flat, views

    def record_step(self) -> None:
        """Write the step count into every parameter's state, as the optimiser keeps it."""
        if self.kind == "SGD":
            return
        for param in self.parameters:
            self.optimizer.state[param]["step"] = self.step

    # ------------------------------------------------------------------ keeping in step
    def in_place(self) -> bool:
        """Whether every parameter and state array is still this object's view."""
        # Checked before every step: identities compared by map(is_, ...) in C.
        if not all(map(is_, [p.data for p in self.parameters], self._data_views)):
            return False
        state = self.optimizer.state
        for name, views in self._state_views.items():
            now = [state.get(p, _NO_STATE).get(name) for p in self.parameters]
            if not all(map(is_, now, views)):
                return False
        return True

    def grads_to_parameters(self) -> None:
        """Point each ``param.grad`` at its slice of the flat gradient (as backward would)."""
        for param, view in zip(self.parameters, self._grad_views, strict=True):
            param.grad = view

    def grad_view(self, index: int) -> np.ndarray:
        """The gradient slice of parameter ``index``, in its shape (C-contiguous)."""
        return self._grad_views[index]


def _has_state(optimizer: Any, kind: str) -> bool:
    """SGD keeps a momentum buffer only with momentum; Adam always keeps its moments."""
    return kind != "SGD" or optimizer.param_groups[0]["momentum"] != 0
