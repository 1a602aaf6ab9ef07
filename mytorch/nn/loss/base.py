"""The base class of every loss, ``Loss`` (PyTorch's ``_Loss``; the course's ``Criterion``).

A loss turns an output and a target into per-element losses l (one per sample, or per
element for the element-wise losses), then reduces them:

    'mean':  L = sum_i l_i / count    (count: the number of losses, or a weights' sum)
    'sum':   L = sum_i l_i
    'none':  L = l, an array

``criterion.backward()`` returns dL/d(output); for 'none' it is the gradient of the
*sum* of the losses (what the course's ``derivative()`` hands on).
``criterion.backward(grad_output)`` is PyTorch's ``loss.backward(grad_output)``: for
'none', grad_output g has the shape of l and the result is d(sum_i g_i l_i)/d(output);
for 'mean' and 'sum', g is a number and the result is g dL/d(output).

Each output element feeds exactly one loss element (a sample's class scores feed that
sample's loss, an element-wise loss its own element), so d(sum_i g_i l_i)/d(output) is
the gradient of the sum with each loss's part scaled by its g_i: one multiplication,
with g broadcast along the class axis of a loss of class scores.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from mytorch.nn.module import Module
from mytorch.validation import (
    check_finite,
    check_float_array,
    check_output_grad,
    check_weights,
    describe,
    require_forward,
)

__all__ = ["Loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _legacy_reduction(size_average: bool | None, reduce: bool | None, where: str) -> str:
    """PyTorch's reading of its deprecated ``size_average`` and ``reduce`` arguments."""
    for name, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{where}: expected {name} to be a bool or None, got {value!r}")
    size_average = True if size_average is None else bool(size_average)
    reduce = True if reduce is None else bool(reduce)
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(
        f"{where}: size_average and reduce are deprecated (as in PyTorch); "
        f"use reduction={reduction!r} instead",
        DeprecationWarning,
        stacklevel=4,
    )
    return reduction


class Loss(Module):
    """Base class of losses (PyTorch's ``_Loss``; the course calls it ``Criterion``).

    Parameters
    ----------
    reduction : {'mean', 'sum', 'none'}
        How per-element losses are combined, as in PyTorch.
    size_average, reduce : bool or None
        PyTorch's deprecated spelling of ``reduction`` (keyword only): when either is
        given, it decides the reduction as PyTorch decides it, with a
        ``DeprecationWarning``.

    Attributes
    ----------
    logits : numpy.ndarray or None
        The last ``output`` argument (the course's name).
    labels : numpy.ndarray or None
        The last ``target`` argument.
    loss : numpy.ndarray or float or None
        The last value returned.
    """

    #: True for a loss whose targets are classes (class indices, class probabilities,
    #: the hinge's labels -1 / +1): the trainer then counts errors (:meth:`count_errors`).
    classification = False

    def __init__(
        self,
        reduction: str = "mean",
        *,
        size_average: bool | None = None,
        reduce: bool | None = None,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce, where)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{where}: expected reduction in {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.logits: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.loss: np.ndarray | None = None
        self._grad: np.ndarray | None = None
        # The output's axis that the per-element losses lack (a loss of class scores:
        # the class axis), along which ``backward(grad_output)`` broadcasts g.
        self._class_axis: int | None = None

    def __call__(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        return self.forward(output, target)

    def forward(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Return the loss of ``output`` against ``target`` and save what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output: npt.ArrayLike | None = None) -> np.ndarray:
        """Return d(loss)/d(output), of the output's shape (see the module docstring).

        Parameters
        ----------
        grad_output : numpy.ndarray or float or None
            ``None``: the gradient of the loss (of the sum of the losses for 'none').
            With ``reduction='none'``: d(final)/d(loss), an array of the loss's shape
            and the output's dtype. Otherwise: a number (or 0-d array) scaling the
            gradient, as PyTorch's ``loss.backward(gradient)``.
        """
        where = f"{type(self).__name__}.backward"
        require_forward(self._grad, where)
        if grad_output is None:
            return self._grad
        if self.reduction == "none":
            check_output_grad(grad_output, where, np.shape(self.loss), dtype=self._grad.dtype)
            if self._class_axis is not None:
                grad_output = np.expand_dims(grad_output, self._class_axis)
            return np.asarray(self._grad * grad_output)  # an array for 0-d losses too
        return np.asarray(self._grad * self._check_scalar_grad(grad_output, where))

    def _check_scalar_grad(self, grad_output: Any, where: str) -> np.generic:
        is_number = isinstance(grad_output, (int, float, np.integer, np.floating))
        is_scalar_array = isinstance(grad_output, np.ndarray) and grad_output.ndim == 0
        if isinstance(grad_output, (bool, np.bool_)) or not (is_number or is_scalar_array):
            raise TypeError(
                f"{where}: expected grad_output to be a number or a 0-d array (the loss is "
                f"a scalar with reduction={self.reduction!r}), got {describe(grad_output)}"
            )
        if is_scalar_array and grad_output.dtype.kind not in "fiu":
            raise TypeError(
                f"{where}: expected grad_output to be a number, got dtype {grad_output.dtype}"
            )
        check_finite(np.asarray(grad_output), where, name="grad_output")
        return self._grad.dtype.type(grad_output)

    def derivative(self) -> np.ndarray:
        """The course's name for :meth:`backward`."""
        return self.backward()

    def counts_errors(self, target: np.ndarray) -> bool:
        """Whether :meth:`count_errors` can score outputs against ``target``: class
        indices, or (N, C) class probabilities of a loss of classes."""
        return target.dtype.kind in "iu" or (self.classification and target.ndim == 2)

    def count_errors(
        self, output: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None
    ) -> float:
        """How many samples ``output`` (N, C) misclassifies: its arg-max against the
        class index, or against the arg-max of a probability row. With ``weight`` (N,),
        the sum of the misclassified samples' weights."""
        predicted = np.argmax(output, axis=1)
        truth = target if target.ndim == 1 else np.argmax(target, axis=1)
        return tally_errors(predicted != truth, weight)

    def _finish(self, per_sample: np.ndarray, grad: np.ndarray, count: Any) -> np.ndarray:
        """Reduce ``per_sample`` and scale the gradient of the sum to match.

        ``grad`` is d(sum of per-sample losses)/d(output); ``count`` is what 'mean'
        divides by.
        """
        if self.reduction == "mean":
            if count == 0:  # every target ignored, or weights summing to 0: NaN, as PyTorch
                count = np.nan
            self.loss = per_sample.dtype.type(per_sample.sum() / count)
            grad /= count
        elif self.reduction == "sum":
            self.loss = per_sample.dtype.type(per_sample.sum())
        else:
            self.loss = per_sample
        self._grad = grad
        return self.loss

    def _check_output(self, output: np.ndarray, ndim: int | tuple[int, ...] = 2) -> np.ndarray:
        return check_float_array(output, type(self).__name__, ndim=ndim, name="output")

    def _register_weight(self, name: str, value: npt.ArrayLike | None) -> None:
        """Keep ``value`` (finite numbers, or None) as the buffer ``name``, as PyTorch does:
        it goes into ``state_dict()`` and follows ``to(dtype)``."""
        array = None if value is None else check_weights(value, type(self).__name__, name)
        self.register_buffer(name, array)

    def _weight_as(self, name: str, dtype: np.dtype) -> np.ndarray | None:
        """The buffer ``name`` in the output's dtype (None if not given)."""
        weight = self._buffers[name]
        return None if weight is None else weight.astype(dtype, copy=False)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def tally_errors(wrong: np.ndarray, weight: np.ndarray | None) -> float:
    """The number of True in ``wrong``, or the sum of their ``weight``."""
    if weight is None:
        return int(np.count_nonzero(wrong))
    return float(np.sum(weight[wrong]))


def loss_counts_errors(criterion: Any, y: np.ndarray) -> bool:
    """Whether errors can be counted for targets ``y``, as the loss says
    (``Loss.counts_errors``); for another criterion, integer labels or one-hot rows."""
    asks = getattr(criterion, "counts_errors", None)
    if asks is not None:
        return asks(y)
    if y.dtype.kind in "iu":
        return True
    return getattr(criterion, "classification", False) and y.ndim == 2


def count_errors_of(
    criterion: Any, output: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
) -> float:
    """Misclassified samples, as the loss counts them (arg-max, the hinge's sign); with
    ``weight`` (B,), the sum of their weights. Another criterion counts arg-max errors."""
    count = getattr(criterion, "count_errors", None)
    if count is not None:
        return count(output, y, weight)
    return Loss.count_errors(criterion, output, y, weight)
