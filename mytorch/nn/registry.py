"""Modules as plain data and back: the one table of module types that can be rebuilt.

A module's *spec* is ``{"type": class name, **module.get_config()}``; a ``Sequential``'s
is ``{"type": "Sequential", "modules": [spec, ...]}``. Model files store specs (and
build from them without running code from the file: only the classes in
:data:`MODULE_TYPES` can be named), the ONNX exporter reads them, and the model builders
(``mytorch.workflows.build``, ``hw1.MLP.to_sequential``) make their layers through
:func:`build`. A new layer that should be saved is added to :data:`MODULE_TYPES`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from mytorch.nn import activation as act
from mytorch.nn.batchnorm import BatchNorm1d
from mytorch.nn.dropout import Dropout, NotesDropout
from mytorch.nn.linear import Linear
from mytorch.nn.module import Module
from mytorch.nn.sequential import Sequential

__all__ = [
    "ACTIVATION_TYPES",
    "MODULE_TYPES",
    "build",
    "core_type_name",
    "is_registered",
    "spec",
]

#: The activations a spec may name, by class name.
ACTIVATION_TYPES: dict[str, type[act.Activation]] = {
    cls.__name__: cls
    for cls in (
        act.Identity,
        act.Step,
        act.Sigmoid,
        act.Tanh,
        act.ReLU,
        act.LeakyReLU,
        act.ELU,
        act.GELU,
        act.Softplus,
        act.Softmax,
        act.LogSoftmax,
    )
}

#: Every module type a spec may name, by class name (exact classes: a subclass such as
#: the course's ``Linear`` has other rules and is not one of them).
MODULE_TYPES: dict[str, type[Module]] = {
    "Sequential": Sequential,
    "Linear": Linear,
    "BatchNorm1d": BatchNorm1d,
    "Dropout": Dropout,
    "NotesDropout": NotesDropout,
    **ACTIVATION_TYPES,
}


def is_registered(module: Module) -> bool:
    """Whether ``module``'s exact class is in :data:`MODULE_TYPES`."""
    return MODULE_TYPES.get(type(module).__name__) is type(module)


def core_type_name(module: Module) -> str:
    """The name of the registered class ``module`` is, or derives from (the course's
    ``Linear`` -> ``"Linear"``): what a copy of it with PyTorch's rules is built as.

    Raises
    ------
    TypeError
        If no registered class is among its bases.
    """
    for cls in type(module).__mro__:
        if MODULE_TYPES.get(cls.__name__) is cls:
            return cls.__name__
    raise TypeError(f"no registered module type behind a {type(module).__name__}")


def spec(module: Module) -> dict[str, Any]:
    """Return ``module`` as plain data (see the module docstring).

    Raises
    ------
    TypeError
        If ``module`` (or a module inside it) is not of a registered type.
    """
    if not is_registered(module):
        raise TypeError(f"cannot describe a {type(module).__name__}")
    if type(module) is Sequential:
        return {"type": "Sequential", "modules": [spec(child) for child in module]}
    return {"type": type(module).__name__, **module.get_config()}


@functools.cache
def _accepts(cls: type, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


def build(
    spec: dict[str, Any], *, dtype: Any = np.float64, rng: np.random.Generator | int | None = None
) -> Module:
    """Build the module ``spec`` describes, in ``dtype``.

    Parameters
    ----------
    spec : dict
        ``{"type": name, **settings}`` as :func:`spec` makes it.
    dtype : numpy dtype
        For the modules that hold arrays.
    rng : numpy.random.Generator or int or None
        Passed to the modules that draw random numbers (a ``Linear``'s initial weights),
        in the order they are built.

    Raises
    ------
    KeyError
        If the type is not registered.
    TypeError, ValueError
        If a setting is unknown or invalid (as the module's constructor says).
    """
    kind = spec["type"]
    cls = MODULE_TYPES[kind]
    settings = {key: value for key, value in spec.items() if key != "type"}
    if cls is Sequential:
        (modules,) = settings.values() if set(settings) == {"modules"} else (None,)
        if not isinstance(modules, list):
            raise ValueError("a Sequential spec holds exactly one list, 'modules'")
        return Sequential(*(build(child, dtype=dtype, rng=rng) for child in modules))
    if _accepts(cls, "dtype"):
        settings["dtype"] = dtype
    if rng is not None and _accepts(cls, "rng"):
        settings["rng"] = rng
    return cls(**settings)
