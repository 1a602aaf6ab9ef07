"""Back-propagation, one module at a time, with every number shown and checked.

The lecture notes call back-propagation "blame propagation": the loss says how unhappy
we are with the prediction; d(loss)/d(A^L) is how much the network's output is to
blame; each module, from the last to the first, takes the blame for its output
(``grad_output``), keeps the share that belongs to its own parameters (their
gradients) and passes the rest back to its input (``grad_input``).

:func:`backprop` runs one forward and one backward pass of a small model on a small
batch and records exactly that, module by module, then checks every gradient against
central finite differences of the loss::

    >>> record = backprop(model, x, y)   # doctest: +SKIP
    >>> print(record)                    # doctest: +SKIP
    >>> record.passed                    # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mytorch.nn.loss import CrossEntropyLoss, Loss, MSELoss
from mytorch.nn.module import Module
from mytorch.tools.gradcheck import _relative_error, numeric_gradient

__all__ = ["BackpropRecord", "Step", "backprop"]

#: The finite-difference check is skipped when more numbers than this would be perturbed
#: (two forward passes each): it is meant for the tiny networks one reads by hand.
MAX_CHECKED_VALUES = 20_000


@dataclass
class Step:
    """One module's part in a forward and backward pass (or the loss's, ``is_loss``).

    Attributes
    ----------
    name : str
        The module's name in the model (``"0"``, ``"1"``, ...), or ``"loss"``.
    module : str
        A short description, e.g. ``"Linear(2->3)"``, ``"Tanh"``.
    input : numpy.ndarray
        What went in, shape (N, in) (for the loss: the model's output).
    output : numpy.ndarray
        What came out, shape (N, out) (for the loss: the loss value, shape ()).
    grad_output : numpy.ndarray or None
        The blame received: d(loss)/d(output), shape of ``output`` (None for the loss).
    grad_input : numpy.ndarray
        The blame passed back: d(loss)/d(input), shape of ``input``.
    param_grads : dict of str to numpy.ndarray
        The module's parameter gradients as it stores them, ``{"weight": ..., "bias": ...}``.
    check : dict of str to float
        Relative error of each gradient (``"input"`` and each parameter name) against
        finite differences; empty if the check was skipped.
    is_loss : bool
        True for the loss, the step where the blame starts.
    """

    name: str
    module: str
    input: np.ndarray
    output: np.ndarray
    grad_output: np.ndarray | None
    grad_input: np.ndarray
    param_grads: dict[str, np.ndarray] = field(default_factory=dict)
    check: dict[str, float] = field(default_factory=dict)
    is_loss: bool = False


@dataclass
class BackpropRecord:
    """What :func:`backprop` saw: the steps in forward order, the loss and the check.

    Attributes
    ----------
    steps : list of Step
        One per module in forward order, then the loss.
    loss : float
        The loss value (summed if the criterion's reduction is 'none').
    target : numpy.ndarray
        The target ``y``.
    tolerance : float
        Relative errors at or below it pass.
    check_note : str
        How the gradients were checked, or why they were not.
    """

    steps: list[Step]
    loss: float
    target: np.ndarray
    tolerance: float
    check_note: str

    @property
    def checked(self) -> bool:
        """True if the finite-difference check ran."""
        return any(step.check for step in self.steps)

    @property
    def passed(self) -> bool:
        """True if the check ran and every gradient is within ``tolerance``."""
        return self.checked and self.worst_error <= self.tolerance

    @property
    def worst_error(self) -> float:
        """The largest relative error of any checked gradient (0 if none checked)."""
        return max((e for step in self.steps for e in step.check.values()), default=0.0)

    @property
    def modules(self) -> list[Step]:
        """The steps of the modules (without the loss)."""
        return [step for step in self.steps if not step.is_loss]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (nested lists) for JSON."""

        def plain(array: Any) -> Any:
            return None if array is None else np.asarray(array).tolist()

        return {
            "loss": self.loss,
            "target": plain(self.target),
            "tolerance": self.tolerance,
            "passed": self.passed,
            "worst_error": self.worst_error,
            "check_note": self.check_note,
            "steps": [
                {
                    "name": s.name,
                    "module": s.module,
                    "is_loss": s.is_loss,
                    "input": plain(s.input),
                    "output": plain(s.output),
                    "grad_output": plain(s.grad_output),
                    "grad_input": plain(s.grad_input),
                    "param_grads": {k: plain(v) for k, v in s.param_grads.items()},
                    "check": dict(s.check),
                }
                for s in self.steps
            ],
        }

    def __str__(self) -> str:
        return format_record(self)

    def plot(self, path: str | os.PathLike, title: str = "Forward values and their blame") -> None:
        """Save a picture: for the input and each module's output, its values (top) and
        the blame d(loss)/d(value) back-propagated to it (bottom). Needs matplotlib."""
        from mytorch.tools.plots import _pyplot, _save

        plt = _pyplot()
        modules = self.modules
        columns = [("x (input)", modules[0].input, modules[0].grad_input)]
        columns += [(f"{s.name}: {s.module}", s.output, s.grad_output) for s in modules]
        figure, axes = plt.subplots(
            2, len(columns), figsize=(2.3 * len(columns), 4.2), squeeze=False
        )
        for col, (label, value, blame) in enumerate(columns):
            for row, (array, cmap) in enumerate(((value, "PuOr"), (blame, "RdBu_r"))):
                axis = axes[row, col]
                data = np.atleast_2d(np.asarray(array, dtype=float))
                limit = max(float(np.abs(data).max(initial=0.0)), 1e-12)
                axis.imshow(data, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
                if data.size <= 24:
                    for (i, j), v in np.ndenumerate(data + 0.0):
                        axis.text(
                            j,
                            i,
                            f"{v:.2g}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if abs(v) > 0.6 * limit else "black",
                        )
                axis.set_xticks([])
                axis.set_yticks([])
                if row == 0:
                    axis.set_title(label, fontsize=8)
        axes[0, 0].set_ylabel("value\n(forward)", fontsize=8)
        axes[1, 0].set_ylabel("blame d(loss)/d(value)\n(backward)", fontsize=8)
        figure.suptitle(f"{title} (loss {self.loss:.4g})", fontsize=10)
        figure.tight_layout()
        _save(figure, path)
        plt.close(figure)


def _describe(module: Module) -> str:
    name = type(module).__name__
    config = module.get_config()
    if "in_features" in config:
        return f"{name}({config['in_features']}->{config['out_features']})"
    if "num_features" in config:
        return f"{name}({config['num_features']})"
    if isinstance(module, Loss):
        return f"{name}({module.reduction})"
    return name


def backprop(
    model: Module,
    x: np.ndarray,
    y: np.ndarray,
    criterion: Loss | None = None,
    *,
    check: bool = True,
    eps: float = 1e-6,
    tolerance: float = 1e-6,
) -> BackpropRecord:
    """Run one forward and backward pass and record every module's values and blame.

    The model runs in its current mode (call ``model.eval()`` first to switch off
    dropout and use batch norm's running statistics). Its parameter gradients are
    cleared first and hold this pass's gradients afterwards, as after one training
    step without the optimiser.

    Parameters
    ----------
    model : Module
        An ``nn.Sequential`` (each child is one step) or a single module.
    x : numpy.ndarray
        A small input batch, shape (N, in_features), the model's dtype (N = 1 to a few).
    y : numpy.ndarray
        Its target: class indices (N,) int, or what ``criterion`` takes.
    criterion : Loss, optional
        Default: ``CrossEntropyLoss()`` for integer ``y``, else ``MSELoss()``.
    check : bool
        Compare every gradient with central finite differences of the loss (float64
        models only; skipped, with a note, above ``MAX_CHECKED_VALUES`` numbers).
    eps : float
        Finite-difference step.
    tolerance : float
        Largest relative error that passes (the measure of :func:`mytorch.gradcheck`).

    Returns
    -------
    BackpropRecord
        ``print(record)`` shows the table; ``record.passed`` the check's verdict.

    Notes
    -----
    The numeric gradient of a module's input perturbs that input and runs the rest of
    the network and the loss; that of a parameter perturbs the parameter. Random
    generators (dropout) are rewound before every evaluation and buffers (batch norm's
    running statistics) restored afterwards, so the check sees the same function. The
    course's ``Linear`` stores the gradient of the batch-mean loss
    divided by N again (its own convention, see :mod:`mytorch.linear`); its numeric
    parameter gradients are scaled the same way.

    Examples
    --------
    >>> from mytorch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1))
    >>> record = backprop(model, np.array([[1.0, -0.5]]), np.array([1]))
    >>> [step.module for step in record.steps]
    ['Linear(2->3)', 'Tanh', 'Linear(3->2)', 'CrossEntropyLoss(mean)']
    >>> record.passed
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"backprop: expected a Module, got {type(model).__name__}")
    x = np.asarray(x)
    y = np.asarray(y)
    if criterion is None:
        criterion = CrossEntropyLoss() if y.dtype.kind in "iu" else MSELoss()
    children = model.forward_chain()
    generators = [
        m.rng for m in model.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)
    ]
    rng_before = [g.bit_generator.state for g in generators]

    # The recorded pass: forward, keeping a copy of what goes into each module ...
    model.zero_grad()
    inputs, outputs = [], []
    value = x
    for _, module in children:
        inputs.append(np.array(value, copy=True))
        value = module(value)
        outputs.append(np.array(value, copy=True))
    loss = criterion(value, y)
    loss_value = float(np.sum(loss))
    # ... and backward, keeping the blame each module receives and passes on.
    blame = np.array(criterion.backward(), copy=True)
    steps = [
        Step(
            "loss",
            _describe(criterion),
            np.array(value, copy=True),
            np.asarray(loss, dtype=float).copy(),
            None,
            blame,
            is_loss=True,
        )
    ]
    for (name, module), module_in, module_out in zip(
        reversed(children), reversed(inputs), reversed(outputs), strict=True
    ):
        passed_back = np.array(module.backward(blame), copy=True)
        grads = {
            p_name: (np.zeros_like(p.data) if p.grad is None else np.array(p.grad))
            for p_name, p in module.named_parameters()
        }
        steps.append(
            Step(name, _describe(module), module_in, module_out, blame, passed_back, grads)
        )
        blame = passed_back
    steps.reverse()  # forward order: first module first, the loss last

    note = "not checked (check=False)"
    if check:
        note = _check(model, children, criterion, steps, y, generators, rng_before, eps)
    return BackpropRecord(steps, loss_value, np.array(y, copy=True), tolerance, note)


def _check(
    model: Module,
    children: list[tuple[str, Module]],
    criterion: Loss,
    steps: list[Step],
    y: np.ndarray,
    generators: list[np.random.Generator],
    rng_before: list[dict],
    eps: float,
) -> str:
    """Fill each step's ``check`` with relative errors against finite differences;
    return a note saying how (or why not)."""
    if any(step.input.dtype != np.float64 for step in steps) or any(
        p.data.dtype != np.float64 for p in model.parameters()
    ):
        return "not checked: finite differences need a float64 model and input"
    size = sum(step.input.size for step in steps) + sum(p.data.size for p in model.parameters())
    if size > MAX_CHECKED_VALUES:
        return (
            f"not checked: {size} numbers to perturb (more than {MAX_CHECKED_VALUES}); "
            "use a smaller model or batch"
        )
    rng_after = [g.bit_generator.state for g in generators]
    saved_state = {k: np.array(v, copy=True) for k, v in model.state_dict().items()}
    saved_grads = [(p, p.grad) for p in model.parameters()]

    def loss_from(start: int, value: np.ndarray) -> float:
        """The loss when ``value`` goes into module ``start`` (``len(children)``: the loss)."""
        # A copy: an in-place activation (``nn.Tanh(inplace=True)``) would overwrite the
        # array being perturbed, or the recorded input of a step.
        value = np.array(value, copy=True)
        for generator, state in zip(generators, rng_before, strict=True):
            generator.bit_generator.state = state
        # Modules before ``start`` drew from their generators in the recorded pass; run
        # them again in case a later module shares one of those generators.
        for earlier in range(start):
            module = children[earlier][1]
            if isinstance(getattr(module, "rng", None), np.random.Generator):
                module(steps[earlier].input)
        for _, module in children[start:]:
            value = module(value)
        return float(np.sum(criterion(value, y)))

    def numeric(array: np.ndarray, evaluate: Any) -> np.ndarray:
        return numeric_gradient(array, evaluate, eps)

    try:
        estimates: list[dict[str, np.ndarray]] = []
        for index, step in enumerate(steps):
            probe = np.array(step.input, copy=True)
            found = {"input": numeric(probe, lambda i=index, v=probe: loss_from(i, v))}
            if not step.is_loss:
                module = children[index][1]
                # The course's Linear stores an extra 1/N (see Notes): ask the layer.
                scale = module.stored_grad_scale(len(step.input))
                for p_name, param in module.named_parameters():
                    found[p_name] = scale * numeric(
                        param.data, lambda i=index, v=step.input: loss_from(i, v)
                    )
            estimates.append(found)
    finally:
        model.load_state_dict(saved_state)
        for generator, state in zip(generators, rng_after, strict=True):
            generator.bit_generator.state = state
        for param, grad in saved_grads:
            param.grad = grad
    analytic_max = max(
        float(np.abs(g).max(initial=0.0))
        for step in steps
        for g in [step.grad_input, *step.param_grads.values()]
    )
    floor = 1e-3 * analytic_max
    for step, found in zip(steps, estimates, strict=True):
        analytic = {"input": step.grad_input, **step.param_grads}
        step.check = {key: _relative_error(analytic[key], found[key], floor) for key in found}
    return (
        f"checked against central finite differences of the loss (eps {eps:g}); "
        "relative error = max |analytic - numeric| / largest magnitude"
    )


# ------------------------------------------------------------------ printing
def _array(value: Any, indent: int) -> str:
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array + 0.0  # shows -0.0 (a blocked gradient) as 0
    text = np.array2string(
        array,
        precision=4,
        suppress_small=True,
        threshold=40,
        edgeitems=3,
        max_line_width=72,
        floatmode="maxprec",
    )
    return text.replace("\n", "\n" + " " * indent)


def _verdict(error: float | None, tolerance: float) -> str:
    if error is None:
        return ""
    return f"{error:.1e} {'ok' if error <= tolerance else 'FAIL'}"


def format_record(record: BackpropRecord) -> str:
    """The record as a readable table: the forward pass, then the backward pass."""
    modules = record.modules
    width = max(len(s.module) for s in record.steps) + 2
    lines = [
        f"Back-propagation through {len(modules)} modules, batch of "
        f"{len(modules[0].input)}, target {_array(record.target, 0)}",
        "",
        "Forward pass: what each module computes",
        f"  {'step':<5} {'module':<{width}} {'shape':<9} value",
    ]
    indent = 2 + 6 + width + 10
    x = modules[0].input
    lines.append(f"  {'x':<5} {'input':<{width}} {str(x.shape):<9} {_array(x, indent)}")
    for step in record.steps:
        shape = str(np.shape(step.output))
        label = "loss" if step.is_loss else step.name
        lines.append(
            f"  {label:<5} {step.module:<{width}} {shape:<9} {_array(step.output, indent)}"
        )
    lines += [
        "",
        "Backward pass: each module receives the blame d(loss)/d(output) and passes "
        "d(loss)/d(input) back",
        f"  {'step':<5} {'module':<{width}} {'gradient':<22} {'shape':<9} {'check':<13} value",
    ]
    indent = 2 + 6 + width + 23 + 10 + 14
    for step in reversed(record.steps):
        label = "loss" if step.is_loss else step.name
        what = "d(loss)/d(output)" if step.is_loss else "d(loss)/d(input)"
        rows = [(what, step.grad_input, step.check.get("input"))]
        rows += [
            (f"d(loss)/d({p_name})", grad, step.check.get(p_name))
            for p_name, grad in step.param_grads.items()
        ]
        for row, (gradient, value, error) in enumerate(rows):
            head = f"  {label:<5} {step.module:<{width}}" if row == 0 else " " * (8 + width)
            lines.append(
                f"{head} {gradient:<22} {str(np.shape(value)):<9} "
                f"{_verdict(error, record.tolerance):<13} {_array(value, indent)}"
            )
    lines.append("")
    if record.checked:
        count = sum(len(step.check) for step in record.steps)
        if record.passed:
            lines.append(
                f"All {count} gradients match finite differences (worst relative "
                f"error {record.worst_error:.1e} <= {record.tolerance:g})."
            )
        else:
            failed = [
                f"{s.name}:{k}"
                for s in record.steps
                for k, e in s.check.items()
                if e > record.tolerance
            ]
            lines.append(
                f"{len(failed)} of {count} gradients do NOT match finite "
                f"differences: {', '.join(failed)} (worst relative error "
                f"{record.worst_error:.1e} > {record.tolerance:g})."
            )
            # Blame flows backward: the first failure seen from the loss is where it went
            # wrong; the modules before it only inherit the wrong blame.
            culprit = next(
                s
                for s in reversed(record.steps)
                if any(e > record.tolerance for e in s.check.values())
            )
            lines.append(
                f"Going backward, the first wrong gradient is at step {culprit.name} "
                f"({culprit.module}): look at its backward first."
            )
    lines.append(f"({record.check_note})")
    return "\n".join(lines)
