"""Cross-entropy of class scores: ``CrossEntropyLoss`` (softmax folded in) and ``NLLLoss``.

For one sample with scores x (C,), log-probabilities by log-sum-exp,

    log p_c = (x_c - max x) - log sum_k exp(x_k - max x),

a target distribution t over the C classes and class weights w (1 if not given):

    a     = w t                          the weighted target, (C,)
    l     = -sum_c a_c log p_c
    dl/dx = p sum_c a_c - a              (softmax(x) - one_hot(y) when w = 1, t = one_hot(y))

The target distribution t is, with label smoothing eps:

    class index y:           t = (1 - eps) one_hot(y) + eps / C,  and t = 0 (the sample
                             is left out) where y == ignore_index;
    class probabilities q:   t = (1 - eps) q + eps / C.

'mean' divides the sum of the l by the sum of w_y over the samples kept (class indices)
or by the number of samples (probabilities): PyTorch's rule.

``NLLLoss`` takes log-probabilities x themselves: l = -w_y x_y, dl/dx = -w_y one_hot(y),
and 'mean' divides by the sum of w_y over the samples kept.

Both take the layouts of :mod:`mytorch.nn.loss.classes`: (C,), (N, C) and
(N, C, d1, ..., dk), with targets (), (N,) and (N, d1, ..., dk) (or probabilities of the
output's shape).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mytorch.nn.loss.classes import (
    ClassScoreLoss,
    check_ignore_index,
    check_probability_target,
)
from mytorch.validation import check_number

__all__ = ["CrossEntropyLoss", "NLLLoss"]


def _class_weight(loss: ClassScoreLoss, n_classes: int, dtype: npt.DTypeLike) -> np.ndarray | None:
    """The loss's class weights in the output's dtype, checked against C."""
    weight = loss._buffers["weight"]
    if weight is None:
        return None
    if weight.shape != (n_classes,):
        raise ValueError(
            f"{type(loss).__name__}: expected weight of shape ({n_classes},), got {weight.shape}"
        )
    return weight.astype(dtype, copy=False)


def _kept_weight_sum(
    weight: np.ndarray | None, labels: np.ndarray, ignored: np.ndarray | None, n: int
) -> Any:
    """What 'mean' divides by: sum of w_y over the samples kept (their count if no w)."""
    if weight is None:
        return n if ignored is None else n - int(np.count_nonzero(ignored))
    sample_weight = weight[labels]
    if ignored is not None:
        sample_weight[ignored] = 0.0
    return sample_weight.sum()


class CrossEntropyLoss(ClassScoreLoss):
    """Softmax + cross-entropy of logits (PyTorch's ``CrossEntropyLoss``).

    Parameters
    ----------
    weight : array of shape (C,) or None
        Per-class weights (any finite numbers, as in PyTorch); kept as a buffer, so it
        is in ``state_dict()``.
    size_average, reduce : None
        PyTorch's deprecated arguments (see :class:`~mytorch.nn.loss.base.Loss`).
    ignore_index : int
        Samples whose class index equals it are left out (default -100, as PyTorch).
    reduction : {'mean', 'sum', 'none'}
        'mean' divides by sum_i w_{y_i} over the samples kept (class indices) or by
        the number of samples (probabilities), as PyTorch does.
    label_smoothing : float in [0, 1]
        eps: the target becomes (1 - eps) target + eps / C.

    Shape:
        - output: (C,), (N, C) or (N, C, d1, ..., dk) logits, float.
        - target: class indices of shape (), (N,) or (N, d1, ..., dk) in [0, C) (any
          integer dtype), or class probabilities in [0, 1] of the output's shape and dtype.
        - loss: scalar, or the target's shape (without C) for ``reduction='none'``.

    Examples
    --------
    >>> ce = CrossEntropyLoss()
    >>> float(ce(np.zeros((2, 4)), np.array([0, 3])))  # log(4)
    1.386294
    >>> ce.backward().shape
    (2, 4)
    """

    def __init__(
        self,
        weight: npt.ArrayLike | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        where = type(self).__name__
        self._register_weight("weight", weight)
        self.ignore_index = check_ignore_index(ignore_index, where)
        self.label_smoothing = check_number(
            label_smoothing, where, "label_smoothing", low=0, high=1
        )
        self._probs: np.ndarray | None = None

    takes_probabilities = True

    def check_probabilities(self, target: np.ndarray, output: np.ndarray) -> None:
        name = type(self).__name__
        axis = 0 if output.ndim == 1 else 1
        index_shape = output.shape[:axis] + output.shape[axis + 1 :]
        if target.shape == index_shape and target.shape != output.shape:
            # Float class labels are a common slip; the probabilities' hint would mislead.
            raise TypeError(
                f"{name}: expected integer class indices of shape {index_shape} or "
                f"probabilities of shape {output.shape}, got a {target.ndim}-D {target.dtype} "
                f"target of shape {target.shape}; convert labels with y.astype(np.int64)"
            )
        check_probability_target(target, name, output)

    def forward_rows(
        self, output: np.ndarray, target: np.ndarray, ignored: np.ndarray | None
    ) -> np.ndarray:
        n, c = output.shape
        weight = _class_weight(self, c, output.dtype)
        eps = self.label_smoothing
        # Log-sum-exp with a single exp: shifted = x - max(x), so exp never overflows.
        shifted = output - np.maximum.reduce(output, axis=1, keepdims=True)
        probs = np.exp(shifted)
        total = np.add.reduce(probs, axis=1)
        if target.ndim == 1 and ignored is None and weight is None and not eps:
            if self.reduction == "mean":
                return self._mean_of_class_indices(output, target, shifted, probs, total)
        log_total = np.log(total)
        probs /= total[:, None]
        self._probs = probs
        if target.ndim == 2:  # class probabilities q: t = (1 - eps) q + eps / C
            t = target if not eps else target * (1.0 - eps) + eps / c
            count = n
        else:  # class indices y: t = (1 - eps) one_hot(y) + eps / C, 0 where ignored
            labels = target if ignored is None else np.where(ignored, 0, target)
            t = np.full((n, c), eps / c, dtype=output.dtype)
            t[np.arange(n), labels] += 1.0 - eps
            if ignored is not None:
                t[ignored] = 0.0
            count = _kept_weight_sum(weight, labels, ignored, n)
        a = t if weight is None else t * weight  # the weighted target
        a_sum = np.add.reduce(a, axis=1)
        per = a_sum * log_total - np.einsum("ij,ij->i", a, shifted)  # -sum_c a_c log p_c
        grad = probs * a_sum[:, None]
        grad -= a  # dl/dx = p sum_c a_c - a
        return self._finish(per, grad, count)

    def _mean_of_class_indices(
        self, output: Any, target: Any, shifted: Any, probs: Any, total: Any
    ) -> Any:
        """The training case (class indices, 'mean', no weights, nothing ignored, no
        smoothing) in fewer passes: l_i = log sum exp(shifted_i) - shifted_{i, y_i}, and
        the gradient (softmax - one_hot) / N is exp(shifted) / (N total) with 1/N taken
        off each target entry; the softmax itself is not kept."""
        n, c = output.shape
        flat = np.arange(0, n * c, c)  # flat index of each row's target: cheaper than
        flat += target  # 2-D fancy indexing
        per = np.log(total)
        per -= shifted.ravel()[flat]
        total *= n
        probs /= total[:, None]
        probs.ravel()[flat] -= 1.0 / n
        self._probs = None
        self._grad = probs
        self.loss = output.dtype.type(np.add.reduce(per) / n)
        return self.loss

    def extra_repr(self) -> str:
        extra = "" if not self.label_smoothing else f", label_smoothing={self.label_smoothing}"
        if self.ignore_index != -100:
            extra += f", ignore_index={self.ignore_index}"
        return f"reduction={self.reduction!r}{extra}"


class NLLLoss(ClassScoreLoss):
    """Negative log-likelihood of log-probabilities (PyTorch's ``NLLLoss``).

    l_i = -w_{y_i} x[i, y_i] (0 where y_i == ignore_index); use after ``LogSoftmax(dim=1)``.

    Parameters
    ----------
    weight : array of shape (C,) or None
        Per-class weights (any finite numbers); a buffer, in ``state_dict()``.
    size_average, reduce : None
        PyTorch's deprecated arguments (see :class:`~mytorch.nn.loss.base.Loss`).
    ignore_index : int
        Samples whose class index equals it are left out (default -100).
    reduction : {'mean', 'sum', 'none'}
        'mean' divides by sum_i w_{y_i} over the samples kept.

    Shape:
        - output: (C,), (N, C) or (N, C, d1, ..., dk) log-probabilities.
        - target: class indices of shape (), (N,) or (N, d1, ..., dk).
    """

    def __init__(
        self,
        weight: npt.ArrayLike | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        self._register_weight("weight", weight)
        self.ignore_index = check_ignore_index(ignore_index, type(self).__name__)

    def forward_rows(
        self, output: np.ndarray, target: np.ndarray, ignored: np.ndarray | None
    ) -> np.ndarray:
        n, c = output.shape
        weight = _class_weight(self, c, output.dtype)
        labels = target if ignored is None else np.where(ignored, 0, target)
        rows = np.arange(n)
        sample_weight = np.ones(n, output.dtype) if weight is None else weight[labels]
        if ignored is not None:
            sample_weight[ignored] = 0.0
        per = -output[rows, labels] * sample_weight
        grad = np.zeros_like(output)
        grad[rows, labels] = -sample_weight
        count = n if weight is None and ignored is None else sample_weight.sum()
        return self._finish(per, grad, count)

    def extra_repr(self) -> str:
        extra = "" if self.ignore_index == -100 else f", ignore_index={self.ignore_index}"
        return f"reduction={self.reduction!r}{extra}"
