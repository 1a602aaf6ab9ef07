"""The base class every optimiser shares: parameter groups, ``zero_grad``, ``step``, state.

An optimiser reads each parameter's ``grad`` (left there by a module's ``backward``) and
updates ``data`` in place. The bookkeeping is PyTorch's (``torch.optim.Optimizer``):
parameters come in *groups*, each group a dict holding its own hyper-parameters, and the
per-parameter running statistics live in ``state``. ``state_dict()`` holds only numpy
arrays, Python numbers, strings, lists and dicts, so it can be saved as npz + JSON and
loaded into a fresh optimiser that then continues exactly where the old one stopped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.optim.kernels.threaded import for_each_chunk
from mytorch.underflow import quiet_underflow
from mytorch.validation import check_number

ParamsT = Iterable[Parameter] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class of the optimisers in :mod:`mytorch.optim`.

    A subclass fills ``defaults`` with its hyper-parameters, checks them in
    ``_check_hyperparameters``, names its update rule as an elementwise NumPy ``kernel``
    (a function of module level, the rule's maths in place) and implements ``_update``,
    which gathers one parameter's arrays and numbers for the kernel and hands them to
    ``_run_kernel``. This class does the rest: it builds the parameter groups, skips
    parameters without a gradient, keeps the state, saves and restores it, and decides
    *how* a kernel runs: as the optional compiled loop of the same rule
    (``compiled_kernel``, numba) when that is on and takes these arguments, otherwise
    as NumPy on blocks spread over threads (``optim/kernels/threaded.py``). All three
    give the same bits.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The parameters to optimise (``model.parameters()``), or a list of dicts, each with
        a ``"params"`` entry and any hyper-parameters that should differ from ``defaults``
        for that group, e.g. ``[{"params": body}, {"params": head, "lr": 1e-2}]``.
    defaults : dict
        Hyper-parameter values used by every group that does not set its own.

    Attributes
    ----------
    defaults : dict
        As given.
    param_groups : list of dict
        One dict per group: its hyper-parameters and ``"params"``, the list of
        :class:`~mytorch.parameter.Parameter` it updates. Learning-rate schedulers change
        ``group["lr"]`` here.
    state : dict
        Per-parameter state, keyed by the ``Parameter`` object: a dict such as
        ``{"step": 3, "exp_avg": array, "exp_avg_sq": array}`` whose arrays have the
        parameter's shape and dtype. Empty until the first ``step``.

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = SGD([w], lr=0.1)
    >>> w.grad = 2 * w.data          # gradient of ||w||^2
    >>> opt.step()
    >>> w.data
    array([ 0.8, -1.6])
    """

    #: The update rule, in place: ``kernel(*arrays, *scratch, *numbers)``, elementwise.
    kernel: Callable[..., None] | None = None
    #: The same rule compiled, ``compiled_kernel(*arrays, *numbers) -> bool``; it returns
    #: False, having done nothing, for arguments it has no loop for. None: no such loop.
    compiled_kernel: Callable[..., bool] | None = None
    #: How many scratch arrays (the parameter's shape) ``kernel`` needs after ``arrays``.
    kernel_scratch = 1

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, (Parameter, np.ndarray)):
            raise TypeError(
                f"{name}: expected params to be an iterable of Parameters or of dicts "
                f"(e.g. model.parameters()), got a single {type(params).__name__}; "
                "wrap it in a list"
            )
        if callable(getattr(params, "parameters", None)) or not isinstance(params, Iterable):
            hint = "; pass model.parameters()" if hasattr(params, "parameters") else ""
            raise TypeError(
                f"{name}: expected params to be an iterable of Parameters or of dicts "
                f"(e.g. model.parameters()), got {type(params).__name__}{hint}"
            )
        if isinstance(params, (dict, set)):
            raise TypeError(
                f"{name}: expected params to be an ordered iterable of Parameters or of "
                f"dicts, got a {type(params).__name__}; a set has no fixed order, so the "
                "saved state could not be matched back to the parameters"
            )
        self._check_hyperparameters(defaults, "")
        self.defaults = dict(defaults)
        self.state: defaultdict[Parameter, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        # Scratch arrays, one set per parameter, reused every step so that a step
        # allocates nothing; they are not state and are never saved.
        self._workspaces: dict[Parameter, list[np.ndarray]] = {}

        groups: list[Any] = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters.

        Useful to fine-tune part of a model, or to start training layers that were frozen.

        Parameters
        ----------
        param_group : dict
            ``{"params": iterable of Parameter, **hyper_parameters}``. Hyper-parameters it
            leaves out are taken from ``defaults``.

        Raises
        ------
        TypeError
            If ``param_group`` is not a dict or holds something that is not a Parameter.
        ValueError
            If a parameter is already in another group, or a hyper-parameter is invalid.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}.add_param_group: expected a dict, got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the dict has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                f"{name}.add_param_group: 'params' must be an ordered iterable, got a set"
            )
        else:
            params = list(params)
        for index, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise TypeError(
                    f"{name}.add_param_group: expected Parameters in 'params', got "
                    f"{type(param).__name__} at position {index}"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}.add_param_group: a parameter appears twice in the group")

        group = {key: value for key, value in param_group.items() if key != "params"}
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_hyperparameters(group, ".add_param_group")
        group["params"] = params

        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing.intersection(id(p) for p in params):
            raise ValueError(
                f"{name}.add_param_group: some parameters appear in more than one group"
            )
        self.param_groups.append(group)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        """Validate (and normalise in place) the hyper-parameters of ``group``.

        Subclasses override this; ``where`` is appended to the class name in messages.
        """

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradient of every parameter.

        Parameters
        ----------
        set_to_none : bool
            ``True`` (the default, as in PyTorch) sets ``grad`` to ``None``, so the next
            backward pass sets it afresh; ``False`` fills existing gradients with zeros.
        """
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place.

        Parameters
        ----------
        closure : callable, optional
            Called first (it should recompute the loss and the gradients); its result is
            returned.

        Returns
        -------
        Any
            What ``closure`` returned, or ``None``.

        Raises
        ------
        ValueError
            If a gradient's shape differs from its parameter's.
        """
        loss = closure() if closure is not None else None
        self._step_groups()
        return loss

    # The closure runs outside: only the optimiser's own arithmetic ignores underflow.
    # A decorator rather than a ``with`` block in step: the block's three calls cost
    # several times what the decorator's test does, at every step.
    @quiet_underflow.wrap  # a tiny gradient squared rounds to 0, as it should
    def _step_groups(self) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if grad.shape != param.data.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: gradient of shape {grad.shape} does "
                        f"not match its parameter of shape {param.data.shape}"
                    )
                state = self.state[param]
                if not state:
                    self._init_state(param, state, group)
                self._update(param, grad, state, group)

    def _init_state(self, param: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Fill ``state`` for a parameter seen for the first time (the subclass's rule)."""

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Apply the update rule to one parameter. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update()")

    def _run_kernel(self, param: Parameter, arrays: list[np.ndarray], numbers: tuple) -> None:
        """Apply the update rule to ``param``'s ``arrays`` (updated in place).

        The one place that chooses how a rule runs: the compiled loop if there is one,
        it is switched on and it takes ``(*arrays, *numbers)``; else
        ``kernel(*arrays, *scratch, *numbers)`` over blocks of the arrays on the thread
        pool (one call on this thread for small arrays). ``numbers`` comes as one tuple,
        not ``*numbers``, so that it is not unpacked and packed again on the way: this
        runs for every parameter at every step.
        """
        compiled_kernel = self.compiled_kernel
        if compiled_kernel is not None and compiled_kernel(*arrays, *numbers):
            return
        # The kernel's scratch arrays: workspaces 1 .. kernel_scratch (0 holds the decayed
        # gradient), made, or made anew for a parameter of another shape, by _workspace.
        count = self.kernel_scratch
        self._workspace(param, count)
        for_each_chunk(self.kernel, arrays + self._workspaces[param][1 : count + 1], *numbers)

    def _workspace(self, param: Parameter, index: int) -> np.ndarray:
        """Scratch array number ``index`` for ``param``: its shape and dtype, contents unset."""
        buffers = self._workspaces.setdefault(param, [])
        data = param.data
        if buffers and (buffers[0].shape != data.shape or buffers[0].dtype != data.dtype):
            buffers.clear()  # the parameter was replaced (e.g. model.to(np.float32))
        while len(buffers) <= index:
            buffers.append(np.empty_like(data))
        return buffers[index]

    def _gradient(
        self, param: Parameter, grad: np.ndarray, group: dict[str, Any], weight_decay: float
    ) -> np.ndarray:
        """Return the gradient the rule uses: ``+-grad + weight_decay * data``.

        The sign flips for ``maximize=True``. ``param.grad`` itself is never written (as in
        PyTorch, where the decayed gradient is a new tensor): when there is nothing to add,
        ``grad`` is returned as is, otherwise the result goes into workspace 0.
        """
        maximize = group.get("maximize", False)
        if not maximize and weight_decay == 0:
            return grad
        return gradient_with_decay(
            param.data, grad, weight_decay, maximize, self._workspace(param, 0)
        )

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict[str, Any]:
        """Return a snapshot of the optimiser: per-parameter state and the groups.

        Parameters are referred to by their position over all groups in order (0, 1, ...),
        as in PyTorch, so the dict holds no Parameter objects. Everything in it is a numpy
        array (copied), a Python int / float / bool / str, ``None``, a list, a tuple or a
        dict, so it can be written as JSON plus an npz of the arrays.

        Returns
        -------
        dict
            ``{"state": {index: {"step": int, name: array, ...}},
            "param_groups": [{hyper-parameters..., "params": [index, ...]}]}``.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            indices = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                indices.append(index_of[id(param)])
            packed["params"] = indices
            groups.append(packed)
        state = {}
        for param, param_state in self.state.items():
            if not param_state or id(param) not in index_of:
                continue
            state[index_of[id(param)]] = {
                key: value.copy() if isinstance(value, np.ndarray) else value
                for key, value in param_state.items()
            }
        return {"state": state, "param_groups": groups}

    @quiet_underflow.wrap  # casting a tiny float64 value to float32 gives 0
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot made by ``state_dict()`` (possibly after a JSON/npz trip).

        The groups must have the same sizes as this optimiser's; parameters are matched by
        position. Arrays are copied and cast to each parameter's dtype; state keys may be
        ``int`` or their string form (JSON turns dict keys into strings), lists are turned
        back into tuples where this optimiser's hyper-parameter is a tuple (``betas``), and
        ``"step"`` may be any number or 0-d array.

        Parameters
        ----------
        state_dict : dict
            As returned by ``state_dict()``.

        Raises
        ------
        TypeError
            If ``state_dict`` is not a dict of the expected form.
        ValueError
            If the number or sizes of the groups, or the shape of a state array, differ.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise TypeError(
                f"{name}: expected a dict with 'state' and 'param_groups', got "
                f"{type(state_dict).__name__}"
                + (f" with keys {sorted(state_dict)}" if isinstance(state_dict, dict) else "")
            )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the saved state has {len(saved_groups)} parameter groups, this "
                f"optimiser has {len(self.param_groups)}"
            )
        params_by_index: dict[int, Parameter] = {}
        new_groups = []
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            saved_indices = list(saved["params"])
            if len(saved_indices) != len(group["params"]):
                raise ValueError(
                    f"{name}: saved group {number} has {len(saved_indices)} parameters, "
                    f"this optimiser's has {len(group['params'])}"
                )
            for index, param in zip(saved_indices, group["params"], strict=True):
                params_by_index[int(index)] = param
            restored = {}
            for key, value in saved.items():
                if key == "params":
                    continue
                if isinstance(group.get(key), tuple) and isinstance(value, list):
                    value = tuple(value)
                restored[key] = value
            for key, value in group.items():
                # a snapshot from before a hyper-parameter existed keeps the current value
                if key != "params":
                    restored.setdefault(key, value)
            self._check_hyperparameters(restored, ".load_state_dict")
            restored["params"] = group["params"]
            new_groups.append(restored)

        new_state: defaultdict[Parameter, dict[str, Any]] = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            index = int(index)
            if index not in params_by_index:
                raise ValueError(f"{name}: state for parameter {index}, which no group holds")
            param = params_by_index[index]
            restored_state: dict[str, Any] = {}
            for key, value in saved_state.items():
                if key == "step":
                    restored_state[key] = int(np.asarray(value).item())
                    continue
                array = np.array(value, dtype=param.data.dtype, copy=True)
                if array.shape != param.data.shape:
                    raise ValueError(
                        f"{name}: state '{key}' of parameter {index} has shape {array.shape}, "
                        f"the parameter has shape {param.data.shape}"
                    )
                restored_state[key] = array
            new_state[param] = restored_state
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


# ---------------------------------------------------------------------- shared arithmetic
def gradient_with_decay(
    data: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool, out: np.ndarray
) -> np.ndarray:
    """``out = +-grad + weight_decay * data``: the gradient an L2-decayed rule uses.

    The sign flips for ``maximize``. ``grad`` itself is never written, as in PyTorch,
    where the decayed gradient is a new tensor.
    """
    if weight_decay != 0:
        np.multiply(data, weight_decay, out=out)
        if maximize:
            out -= grad
        else:
            out += grad
    else:
        np.negative(grad, out=out)
    return out


# ---------------------------------------------------------------------- shared checks
def check_flag(group: dict[str, Any], key: str, where: str) -> None:
    """Raise ``TypeError`` unless ``group[key]`` is a bool (numpy bools become Python's)."""
    value = group[key]
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: expected {key} to be True or False, got {value!r}")
    group[key] = bool(value)


def check_hyperparameter(
    group: dict[str, Any],
    key: str,
    where: str,
    *,
    low: float | None = 0.0,
    high: float | None = None,
    high_inclusive: bool = True,
) -> None:
    """Check ``group[key]`` is a finite number in range and store it as a Python float.

    Storing a Python float matters: numpy treats it as a "weak" scalar, so float32
    parameters stay float32 when it multiplies them.
    """
    group[key] = check_number(
        group[key], where, key, low=low, high=high, high_inclusive=high_inclusive
    )


def check_betas(group: dict[str, Any], where: str) -> None:
    """Check ``group["betas"]`` is a pair of numbers in [0, 1) and store it as a tuple."""
    betas = group["betas"]
    if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list, np.ndarray)):
        raise TypeError(f"{where}: expected betas to be a pair (beta1, beta2), got {betas!r}")
    if len(betas) != 2:
        raise ValueError(f"{where}: expected betas to be a pair (beta1, beta2), got {betas!r}")
    group["betas"] = tuple(
        check_number(beta, where, f"betas[{i}]", low=0.0, high=1.0, high_inclusive=False)
        for i, beta in enumerate(betas)
    )
