"""Check a module's hand-written backward against central finite differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mytorch.nn.loss import Loss
from mytorch.nn.module import Module


class GradcheckReport(dict):
    """Worst relative error per checked tensor, ``{name: error}``, plus a verdict.

    The relative error of a tensor is max ``|analytic - numeric|`` divided by the
    largest magnitude of either gradient of that tensor, or by a thousandth of the
    largest gradient anywhere in the check if that is bigger: a gradient that is
    exactly zero (a bias before BatchNorm) is then judged against the rounding noise
    of the finite differences instead of against zero.

    Attributes
    ----------
    tolerance : float
        Errors at or below it pass.
    passed : bool
        True if every tensor passed.
    """

    def __init__(self, errors: dict[str, float], tolerance: float) -> None:
        super().__init__(errors)
        self.tolerance = tolerance

    @property
    def passed(self) -> bool:
        """True if every tensor's error is at or below ``tolerance``."""
        return all(error <= self.tolerance for error in self.values())

    @property
    def worst(self) -> float:
        """The largest error over all tensors."""
        return max(self.values(), default=0.0)

    def __str__(self) -> str:
        width = max((len(name) for name in self), default=6)
        lines = [f"{'tensor':<{width}}  relative error"]
        for name, error in self.items():
            mark = "ok" if error <= self.tolerance else "FAIL"
            lines.append(f"{name:<{width}}  {error:.3e}  {mark}")
        return "\n".join(lines)


def numeric_gradient(
    array: np.ndarray, evaluate: Callable[[], float], eps: float = 1e-6
) -> np.ndarray:
    """Central differences (f(a + eps) - f(a - eps)) / (2 eps) for every element of ``array``.

    ``array`` is perturbed in place, one element at a time, and restored; ``evaluate()``
    must recompute the scalar from it. ``array`` may be a view of other storage, of any
    layout (the course's ``Linear.W`` is the transpose of ``weight``).

    Returns
    -------
    numpy.ndarray
        d(evaluate)/d(array), the shape of ``array``.
    """
    estimate = np.zeros_like(array)
    # Index the array itself: reshape(-1) of a non-contiguous view (a transpose) is a
    # copy, and perturbing a copy would leave evaluate() unchanged.
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = evaluate()
        array[index] = original - eps
        minus = evaluate()
        array[index] = original
        estimate[index] = (plus - minus) / (2 * eps)
    return estimate


def _relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float) -> float:
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0), floor)
    if scale == 0.0:
        return 0.0
    return float(np.abs(analytic - numeric).max() / scale)


def gradcheck(
    module: Module,
    *inputs: np.ndarray,
    eps: float = 1e-6,
    tolerance: float = 1e-6,
    rng: np.random.Generator | int | None = 0,
) -> GradcheckReport:
    """Compare ``module.backward`` with central finite differences, in float64.

    For a layer, the scalar checked is L = sum(forward(x) * G) for a fixed random G,
    so backward(G) must return dL/dx and leave dL/dp in each parameter's ``grad``.
    For a loss (a :class:`~mytorch.nn.loss.Loss`), ``inputs`` are (output, target)
    and the scalar is the loss itself (summed for ``reduction='none'``); only the
    output is differentiated.

    Each perturbed evaluation runs the real ``forward``; random generators of the
    module (Dropout's ``rng``) are rewound before each one so the same units are
    dropped, and the module's state (BatchNorm's running statistics) is restored
    afterwards.

    Parameters
    ----------
    module : Module
        A float64 layer, model or loss (convert with ``module.to(np.float64)``).
    *inputs : numpy.ndarray
        The input batch (layers) or (output, target) (losses).
    eps : float
        Finite-difference step.
    tolerance : float
        Largest relative error reported as passing.
    rng : numpy.random.Generator or int or None
        Source of the upstream gradient G.

    Returns
    -------
    GradcheckReport
        ``{"input": err, "<param name>": err, ...}`` with ``.passed`` and ``.worst``.

    Examples
    --------
    >>> from mytorch import nn, gradcheck
    >>> layer = nn.Linear(3, 2, rng=0)
    >>> report = gradcheck(layer, np.random.default_rng(1).normal(size=(4, 3)))
    >>> report.passed
    True
    """
    if not isinstance(module, Module):
        raise TypeError(f"gradcheck: expected a Module or loss, got {type(module).__name__}")
    for x in inputs:
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype != np.float64:
            raise TypeError(
                f"gradcheck: finite differences need float64 inputs, got {x.dtype}; "
                "convert the inputs and the module with .to(np.float64)"
            )
    is_loss = isinstance(module, Loss)
    generators = [
        m.rng for m in module.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)
    ]
    rng_states = [g.bit_generator.state for g in generators]
    saved_state = {k: np.array(v, copy=True) for k, v in module.state_dict().items()}
    x = np.array(inputs[0], dtype=np.float64, copy=True)
    rest = inputs[1:]

    def rewind() -> None:
        for generator, state in zip(generators, rng_states, strict=True):
            generator.bit_generator.state = state

    rewind()
    out = module(x, *rest)
    upstream = None
    if not is_loss:
        upstream = np.random.default_rng(rng).normal(size=np.shape(out))

    def scalar() -> float:
        rewind()
        value = module(x, *rest)
        if is_loss:
            return float(np.sum(value))
        return float(np.sum(value * upstream))

    # Analytic gradients from one forward and backward.
    params = list(module.named_parameters())
    for _, param in params:
        param.grad = None
    rewind()
    module(x, *rest)
    analytic_input = module.backward() if is_loss else module.backward(upstream)
    analytic = {"input": np.array(analytic_input, copy=True)}
    for name, param in params:
        grad = param.grad
        analytic[name] = np.zeros_like(param.data) if grad is None else np.array(grad, copy=True)
    scales = _stored_grad_scales(module, x.shape[0] if x.ndim else 1)  # 0-d: one sample

    numeric: dict[str, np.ndarray] = {}
    for name, array in [("input", x)] + [(n, p.data) for n, p in params]:
        numeric[name] = numeric_gradient(array, scalar, eps) * scales.get(name, 1.0)

    module.load_state_dict(saved_state)
    rewind()
    floor = 1e-3 * max(np.abs(g).max(initial=0.0) for g in analytic.values())
    errors = {name: _relative_error(analytic[name], numeric[name], floor) for name in analytic}
    return GradcheckReport(errors, tolerance)


def _stored_grad_scales(module: Module, batch_size: int) -> dict[str, float]:
    """Each parameter's factor between its stored gradient and d(scalar)/d(param).

    Asked of the layer that owns it (:meth:`Module.stored_grad_scale`): 1 for PyTorch's
    rule, 1/N for the course's ``Linear``, which stores d(mean loss)/dW while returning
    d(sum loss)/dx.
    """
    scales = {}
    for prefix, sub in module.named_modules():
        for name, param in sub._parameters.items():  # its own, not its children's
            if param is not None:
                scales[f"{prefix}.{name}" if prefix else name] = sub.stored_grad_scale(batch_size)
    return scales
