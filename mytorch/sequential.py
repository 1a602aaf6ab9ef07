"""A chain of modules applied one after another."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mytorch.module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply modules in order; back-propagate through them in reverse (``torch.nn.Sequential``).

    Sub-modules are named "0", "1", ..., so ``state_dict()`` keys are PyTorch's
    (``0.weight``, ``1.running_mean``, ...).

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
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Back-propagate ``grad_output`` through the modules in reverse; return d(loss)/dx."""
        for module in reversed(self._modules.values()):
            grad_output = module.backward(grad_output)
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
