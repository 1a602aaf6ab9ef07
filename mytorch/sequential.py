"""A chain of modules applied one after another."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mytorch.linear import Linear
from mytorch.module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply modules in order; back-propagate through them in reverse (``torch.nn.Sequential``).

    Sub-modules are named "0", "1", ..., so ``state_dict()`` keys are PyTorch's
    (``0.weight``, ``1.running_mean``, ...).

    The input is validated in full by the first module; the modules after it still
    check shapes and dtypes, but skip the NaN/inf scan of an array the previous module
    produced (a value that overflows inside the network still shows up in the loss,
    and the trainer then names the layer). The same holds for gradients going back.

    Parameters
    ----------
    *modules : Module
        The layers, first to last.

    Examples
    --------
    >>> from mytorch import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> model(np.ones((5, 4))).shape
    (5, 2)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the last module's output, shape depends on the layers."""
        previous = None
        for module in self._modules.values():
            if previous is None:
                x = module(x)
                previous = module
                continue
            # object.__setattr__: this runs for every layer of every step, and the flags
            # need none of Module.__setattr__'s registration.
            object.__setattr__(module, "_input_is_trusted", True)
            # A Linear's output is a fresh array the layer does not keep, so the next
            # module (an activation) may overwrite it instead of allocating. Not so for
            # BatchNorm, which keeps its output as the course's ``out``.
            owned = isinstance(previous, Linear)
            object.__setattr__(module, "_input_is_owned", owned)
            try:
                x = module(x)
            finally:
                object.__setattr__(module, "_input_is_trusted", False)
                object.__setattr__(module, "_input_is_owned", False)
            previous = module
        return x

    def backward(self, grad_output: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ``grad_output`` through the modules in reverse; return d(loss)/dx.

        Parameters
        ----------
        grad_output : numpy.ndarray
            d(loss)/d(output), the shape of the last forward output.
        need_input_grad : bool
            With False, a first ``Linear`` layer skips the product that would give
            d(loss)/dx (a training step never uses it; it is one of the layer's three
            matrix products) and ``None`` is returned.
        """
        modules = list(self._modules.values())
        for index in range(len(modules) - 1, -1, -1):
            module = modules[index]
            object.__setattr__(module, "_input_is_trusted", index != len(modules) - 1)
            try:
                if index == 0 and not need_input_grad and isinstance(module, Linear):
                    grad_output = module.backward(grad_output, need_input_grad=False)
                else:
                    grad_output = module.backward(grad_output)
            finally:
                object.__setattr__(module, "_input_is_trusted", False)
        return grad_output

    def __getitem__(self, index: int) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
