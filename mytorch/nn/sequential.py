"""A chain of modules applied one after another, ``torch.nn.Sequential``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mytorch.nn.module import Module
from mytorch.validation import assume_finite

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply modules in order; back-propagate through them in reverse (``torch.nn.Sequential``).

    Sub-modules are named "0", "1", ..., so ``state_dict()`` keys are PyTorch's
    (``0.weight``, ``1.running_mean``, ...).

    The data is checked in full (NaN/inf included) by the first module; the modules
    after it run inside :func:`mytorch.validation.assume_finite`, so they check shapes
    and dtypes but skip the NaN/inf scan of an array another module produced (a value
    that overflows inside the network still shows in the loss, and the trainer then
    names the layer). Going back, the gradient the loss hands in is checked in full in
    the same way.

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

    skips_input_grad = True

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
        modules = iter(self._modules.values())
        for first in modules:
            x = first(x)
            break
        with assume_finite():
            for module in modules:
                x = module(x)
        return x

    def backward(self, grad_output: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ``grad_output`` through the modules in reverse; return d(loss)/dx.

        Parameters
        ----------
        grad_output : numpy.ndarray
            d(loss)/d(output), the shape of the last forward output.
        need_input_grad : bool
            With False, a first module that can (``skips_input_grad``, e.g. ``Linear``)
            skips the product that would give d(loss)/dx (a training step never uses
            it) and ``None`` is returned.
        """
        modules = list(self._modules.values())
        if not modules:
            return grad_output
        first = modules[0]
        skip = not need_input_grad and first.skips_input_grad
        first_options = {"need_input_grad": False} if skip else {}
        if len(modules) == 1:
            return first.backward(grad_output, **first_options)
        grad_output = modules[-1].backward(grad_output)  # the loss's gradient: checked
        with assume_finite():  # the rest come from modules
            for module in reversed(modules[1:-1]):
                grad_output = module.backward(grad_output)
            return first.backward(grad_output, **first_options)

    def forward_chain(self) -> list[tuple[str, Module]]:
        """The children, in order: their forwards one after another are this forward."""
        return list(self._modules.items())

    def __getitem__(self, index: int) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
