"""The base class of every layer, activation and loss."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.underflow import quiet_underflow
from mytorch.validation import check_dtype


class Module:
    """Base class of every layer: a forward pass and the backward pass that undoes it.

    A subclass implements ``forward(x)`` (saving what it needs) and
    ``backward(grad_output)``, which returns d(loss)/d(input) and adds d(loss)/d(p) to
    each parameter's ``grad``. As in PyTorch, parameters, buffers (non-trainable
    state such as BatchNorm's running statistics) and sub-modules assigned as
    attributes are registered, so ``parameters()``, ``state_dict()``, ``train()``,
    ``eval()`` and ``to(dtype)`` walk the whole tree. A subclass's ``forward``,
    ``backward`` and ``derivative`` run with floating-point underflow
    ignored (:class:`mytorch.underflow.quiet_underflow`), whatever ``np.seterr`` says.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after ``eval()``.

    Examples
    --------
    >>> from mytorch import nn
    >>> model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias']
    """

    #: The methods a subclass defines that run inside ``underflow.quiet_underflow``
    #: (wrapped once, when the subclass is defined): a result too small for the dtype
    #: rounds to 0 as NumPy's default has it, even under ``np.seterr(all="raise")``.
    _NUMERIC_METHODS = ("forward", "backward", "derivative")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in Module._NUMERIC_METHODS:
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, quiet_underflow.wrap(method))

    #: True when ``backward(grad, need_input_grad=False)`` can skip computing
    #: d(loss)/d(input) (a first layer's input is data: nobody needs its gradient).
    #: ``Sequential`` passes the flag on to its first module when that module sets this.
    skips_input_grad = False

    # Set in __init__ with object.__setattr__ (bypassing the registration below);
    # declared here for type checkers.
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, np.ndarray | None]
    _modules: OrderedDict[str, Module]
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # Registration: attributes that are Parameters or Modules are recorded in order,
    # so that state_dict() keys come out in PyTorch's order.
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if isinstance(value, Parameter) or (value is None and name in self._parameters):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self._buffers:
            self.register_buffer(name, value)
            return
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Record ``value`` as non-trainable state that goes into ``state_dict()``.

        A subclass may show a buffer through a property of the same name (the course's
        BatchNorm shows ``running_mean`` as (1, F)); the buffer then lives only in
        ``_buffers``.
        """
        self._buffers[name] = value
        if not isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)

    def forward(self, *inputs: Any) -> Any:
        """Compute the output. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return d(loss)/d(input) given d(loss)/d(output). Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.forward(*inputs, **kwargs)

    # ----------------------------------------------------------------- gradients
    def store_grad(self, param: Parameter, grad: np.ndarray) -> None:
        """Record ``grad`` = d(loss)/d(param) that ``backward`` computed for ``param``.

        PyTorch's rule: gradients add up over backward passes until ``zero_grad()``
        (``param.accumulate_grad``). This is the one place where a layer's gradients are
        stored, so a different rule is one override: the course's ``Linear`` keeps the
        batch *mean* and replaces the last gradient (``mytorch/linear.py``).
        """
        param.accumulate_grad(grad)

    def stored_grad_scale(self, batch_size: int) -> float:
        """Factor between what :meth:`store_grad` keeps and d(loss)/d(param).

        1 for PyTorch's rule; ``1 / batch_size`` for a layer that keeps the batch mean of
        the gradient of a summed loss (the course's ``Linear``). Gradient checks ask
        the layer this instead of knowing its rules.
        """
        return 1.0

    def forward_chain(self) -> list[tuple[str, Module]]:
        """``(name, module)`` pairs whose forwards, run one after another, are this forward.

        A single module is a chain of one (named after its class); ``Sequential``
        returns its children. Tools that show or check a network step by step
        (``mytorch.tools.explain``, the trainer's NaN locator) walk this list instead
        of asking what kind of container they hold.
        """
        return [(type(self).__name__, self)]

    def get_config(self) -> dict[str, Any]:
        """The constructor settings that rebuild this module (model files, ONNX, repr).

        JSON-ready values only; a module without settings returns ``{}``.
        """
        return {}

    # ----------------------------------------------------------------- the module tree
    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules."""
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for this module and every sub-module, depth first."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """Yield this module and every sub-module."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` for every parameter, each once."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self) -> Iterator[Parameter]:
        """Yield every parameter of the tree (what an optimiser takes)."""
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(dotted_name, array)`` for every buffer."""
        for module_name, module in self.named_modules(prefix):
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_name}.{name}" if module_name else name), buffer

    # ----------------------------------------------------------------- modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode for the whole tree."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode for the whole tree (BatchNorm uses running statistics,
        Dropout passes its input through)."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter.

        Parameters
        ----------
        set_to_none : bool
            As in PyTorch: ``True`` sets ``grad`` to ``None``; ``False`` fills the
            existing arrays with zeros (no allocation).
        """
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is None:
                param.grad = np.zeros_like(param.data)
            else:
                param.grad.fill(0)

    # ----------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Return the parameters and buffers by dotted name, as PyTorch names them.

        Keys, shapes and memory layout are those of the equivalent ``torch.nn``
        model (``0.weight`` of a Linear is (out_features, in_features), C-ordered),
        so ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in
        model.state_dict().items()})`` works. The arrays are the module's own (not
        copies), as in PyTorch: copy them to keep a snapshot.
        """
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for module_name, module in self.named_modules():
            dot = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dot + name] = param.data
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    state[dot + name] = buffer
        return state

    @quiet_underflow.wrap  # casting a tiny float64 value to float32 gives 0
    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy values from ``state_dict`` into this model's arrays, in place.

        Parameters
        ----------
        state_dict : dict of str to array-like
            As returned by ``state_dict()`` here or by a ``torch.nn`` model (tensors
            are converted with ``numpy.asarray``; detach them first).
        strict : bool
            If True, the keys must match exactly.

        Raises
        ------
        TypeError
            If ``state_dict`` is not a dict (a mapping).
        KeyError
            If ``strict`` and keys are missing or unexpected.
        ValueError
            If a shape differs.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: expected a dict of arrays (as "
                f"state_dict() returns), got {type(state_dict).__name__}"
            )
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = np.asarray(state_dict[key])
            if value.shape != target.shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: '{key}' has shape "
                    f"{value.shape}, expected {target.shape}"
                )
            np.copyto(target, value, casting="unsafe")

    @quiet_underflow.wrap
    def to(self, dtype: Any) -> Module:
        """Convert every floating parameter (and its gradient) and buffer to ``dtype``.

        Parameters
        ----------
        dtype : numpy dtype
            ``np.float32`` or ``np.float64``.

        Returns
        -------
        Module
            ``self``, converted in place, as ``torch.nn.Module.to`` does.
        """
        dtype = check_dtype(dtype, f"{type(self).__name__}.to")
        for module in self.modules():
            for param in module._parameters.values():
                if param is None:
                    continue
                param.data = param.data.astype(dtype, copy=False)
                if param.grad is not None:
                    param.grad = param.grad.astype(dtype, copy=False)
            for name, buffer in list(module._buffers.items()):
                if buffer is not None and buffer.dtype.kind == "f":
                    module.register_buffer(name, buffer.astype(dtype, copy=False))
            module._set_dtype(dtype)
        return self

    def parameter_dtype(self) -> np.dtype:
        """The dtype of the first parameter (the dtype inputs should have), else float64."""
        for param in self.parameters():
            return param.data.dtype
        return np.dtype(np.float64)

    def _set_dtype(self, dtype: np.dtype) -> None:
        """Hook for modules that remember their dtype; called by ``to``."""
        if "dtype" in self.__dict__:
            object.__setattr__(self, "dtype", dtype)

    def float(self) -> Module:
        """Convert to float32 (``to(np.float32)``)."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Convert to float64 (``to(np.float64)``)."""
        return self.to(np.float64)

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of ``repr``; override to describe settings."""
        return ""

    def __repr__(self) -> str:
        children = [
            f"  ({name}): " + repr(child).replace("\n", "\n  ")
            for name, child in self._modules.items()
        ]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"
