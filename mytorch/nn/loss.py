"""Loss functions with PyTorch's names: ``MSELoss``, ``BCEWithLogitsLoss``, ``CrossEntropyLoss``...

A loss is called as ``loss = criterion(output, target)``; ``criterion.backward()``
(the course calls it ``derivative()``) then returns d(loss)/d(output), the gradient
that starts back-propagation. With ``reduction='none'`` the loss is one value per
sample (or element) and ``backward`` returns the gradient of their *sum*.
"""

from __future__ import annotations

import numpy as np

from mytorch.nn.functional import sigmoid
from mytorch.nn.module import Module
from mytorch.validation import (
    check_class_indices,
    check_float_array,
    check_number,
    check_probabilities,
    check_weights,
    require_forward,
)

__all__ = [
    "Loss",
    "MSELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "MultiMarginLoss",
]

_REDUCTIONS = ("mean", "sum", "none")


class Loss(Module):
    """Base class of losses (PyTorch's ``_Loss``; the course calls it ``Criterion``).

    Parameters
    ----------
    reduction : {'mean', 'sum', 'none'}
        How per-sample losses are combined, as in PyTorch.

    Attributes
    ----------
    logits : numpy.ndarray or None
        The last ``output`` argument (the course's name).
    labels : numpy.ndarray or None
        The last ``target`` argument.
    loss : numpy.ndarray or float or None
        The last value returned.
    """

    #: True for a loss of class scores (its targets are classes or class
    #: probabilities): the trainer then counts errors by arg-max.
    classification = False

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: expected reduction in {_REDUCTIONS}, got {reduction!r}"
            )
        self.reduction = reduction
        self.logits: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.loss = None
        self._grad: np.ndarray | None = None

    def __call__(self, output: np.ndarray, target: np.ndarray):
        return self.forward(output, target)

    def forward(self, output: np.ndarray, target: np.ndarray):
        """Return the loss of ``output`` against ``target`` and save what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self) -> np.ndarray:
        """Return d(loss)/d(output), same shape as ``output`` (of the sum for 'none')."""
        require_forward(self._grad, f"{type(self).__name__}.backward")
        return self._grad

    def derivative(self) -> np.ndarray:
        """The course's name for :meth:`backward`."""
        return self.backward()

    def _finish(self, per_sample: np.ndarray, grad: np.ndarray, count: float):
        """Reduce ``per_sample`` and scale the gradient of the sum to match.

        ``grad`` is d(sum of per-sample losses)/d(output); ``count`` is what 'mean'
        divides by.
        """
        if self.reduction == "mean":
            self.loss = per_sample.dtype.type(per_sample.sum() / count)
            grad /= count
        elif self.reduction == "sum":
            self.loss = per_sample.dtype.type(per_sample.sum())
        else:
            self.loss = per_sample
        self._grad = grad
        return self.loss

    def _check_output(self, output: np.ndarray, ndim=2) -> np.ndarray:
        return check_float_array(output, type(self).__name__, ndim=ndim, name="output")

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(Loss):
    """Mean squared error: (output - target)^2 per element (PyTorch's ``MSELoss``).

    Shape:
        - output: any shape (N, *), float.
        - target: same shape and dtype as output.
        - loss: scalar, or the shape of output for ``reduction='none'``.

    Examples
    --------
    >>> MSELoss()(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    2.5
    """

    def forward(self, output: np.ndarray, target: np.ndarray):
        self._check_output(output, ndim=None)
        check_float_array(target, "MSELoss", ndim=None, dtype=output.dtype, name="target")
        if target.shape != output.shape:
            raise ValueError(
                f"MSELoss: expected target of shape {output.shape} like the output, "
                f"got {target.shape}"
            )
        self.logits, self.labels = output, target
        diff = output - target
        return self._finish(diff * diff, 2.0 * diff, diff.size)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits, sigmoid folded in (PyTorch's ``BCEWithLogitsLoss``).

    loss = -w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], computed as
    (1 - y) x + (1 + (p - 1) y) softplus(-x) so that no exp overflows.

    Parameters
    ----------
    weight : numpy.ndarray or None
        Rescaling weight broadcast against the output.
    reduction : {'mean', 'sum', 'none'}
        'mean' averages over every element.
    pos_weight : numpy.ndarray or None
        Weight p of positive examples, broadcast over the last axis.

    Shape:
        - output: (N, *) logits; target: same shape, values in [0, 1].
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None) -> None:
        super().__init__(reduction)
        where = type(self).__name__
        self.weight = None if weight is None else check_weights(weight, where)
        self.pos_weight = (
            None if pos_weight is None else check_weights(pos_weight, where, "pos_weight")
        )

    def forward(self, output: np.ndarray, target: np.ndarray):
        self._check_output(output, ndim=None)
        check_float_array(target, "BCEWithLogitsLoss", ndim=None, dtype=output.dtype, name="target")
        if target.shape != output.shape:
            raise ValueError(
                f"BCEWithLogitsLoss: expected target of shape {output.shape}, got {target.shape}"
            )
        if target.size and (target.min() < 0 or target.max() > 1):
            raise ValueError(
                "BCEWithLogitsLoss: expected target values in [0, 1], got "
                f"values in [{target.min()}, {target.max()}]"
            )
        self.logits, self.labels = output, target
        x, y = output, target
        softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # log(1 + e^-x)
        if self.pos_weight is None:
            log_weight = 1.0
            per = (1.0 - y) * x + softplus_neg
        else:
            log_weight = 1.0 + (self.pos_weight - 1.0) * y
            per = (1.0 - y) * x + log_weight * softplus_neg
        # d/dx: (1 - y) - log_weight * sigmoid(-x)
        grad = (1.0 - y) - log_weight * sigmoid(-x)
        if self.weight is not None:
            per = per * self.weight
            grad = grad * self.weight
        return self._finish(
            per.astype(x.dtype, copy=False), grad.astype(x.dtype, copy=False), x.size
        )


def _is_float_array(target) -> bool:
    return isinstance(target, np.ndarray) and target.dtype.kind == "f"


def _class_weight(weight, n_classes: int, dtype, where: str):
    if weight is None:
        return None
    weight = np.asarray(weight)
    if weight.shape != (n_classes,):
        raise ValueError(f"{where}: expected weight of shape ({n_classes},), got {weight.shape}")
    return weight.astype(dtype, copy=False)


class CrossEntropyLoss(Loss):
    """Softmax + cross-entropy of logits (PyTorch's ``CrossEntropyLoss``).

    loss_i = -sum_c w_c y_ic log softmax(x_i)_c, with log-softmax by log-sum-exp.
    The gradient is the famous softmax(x) - y (scaled by the weights and 1/N).

    Parameters
    ----------
    weight : array of shape (C,) or None
        Per-class weights.
    reduction : {'mean', 'sum', 'none'}
        'mean' divides by N, or by sum_i w_{y_i} with class-index targets and weights
        (PyTorch's rule).

    Shape:
        - output: (N, C) logits, float.
        - target: (N,) integer class indices in [0, C), or (N, C) probabilities
          (one-hot or soft) of the output's dtype.
        - loss: scalar, or (N,) for ``reduction='none'``.

    Examples
    --------
    >>> ce = CrossEntropyLoss()
    >>> float(ce(np.zeros((2, 4)), np.array([0, 3])))  # log(4)
    1.3862943611198906
    >>> ce.backward().shape
    (2, 4)
    """

    classification = True

    def __init__(self, weight=None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = None if weight is None else check_weights(weight, type(self).__name__)

    def forward(self, output: np.ndarray, target: np.ndarray):
        name = type(self).__name__
        self._check_output(output)
        n, c = output.shape
        weight = _class_weight(self.weight, c, output.dtype, name)
        self.logits, self.labels = output, target
        # Log-sum-exp with a single exp: shifted = x - max(x), so exp never overflows.
        shifted = output - output.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        total = np.add.reduce(probs, axis=1)
        log_total = np.log(total)
        if _is_float_array(target):
            if target.ndim == 1:
                # Float class labels are a common slip; the 2-D hint would mislead.
                raise TypeError(
                    f"{name}: expected integer class indices of shape ({n},) or "
                    f"probabilities of shape {output.shape}, got a 1-D {target.dtype} "
                    f"target of shape {target.shape}; convert labels with y.astype(np.int64)"
                )
            target = check_probabilities(target, name, shape=output.shape, dtype=output.dtype)
            probs /= total[:, None]
            log_probs = shifted - log_total[:, None]
            weighted = target if weight is None else target * weight
            per = -np.sum(weighted * log_probs, axis=1)
            grad = probs * weighted.sum(axis=1, keepdims=True) - weighted
            self._probs = probs
            return self._finish(per, grad, n)
        target = check_class_indices(target, name, n_classes=c, n_samples=n)
        # Flat indices of each row's target: cheaper than 2-D fancy indexing.
        flat = np.arange(0, n * c, c)
        flat += target
        per = log_total - shifted.ravel()[flat]
        if weight is None and self.reduction == "mean":
            # The training case, in fewer passes: the gradient (softmax - one_hot) / N is
            # exp(shifted) / (N total) with 1/N taken off each target entry, and the
            # softmax itself is not kept.
            total *= n
            probs /= total[:, None]
            probs.ravel()[flat] -= 1.0 / n
            self._probs = None
            self._grad = probs
            self.loss = output.dtype.type(per.sum() / n)
            return self.loss
        probs /= total[:, None]
        grad = probs.copy()
        grad.ravel()[flat] -= 1.0
        count = n
        if weight is not None:
            sample_weight = weight[target]
            per = per * sample_weight
            grad *= sample_weight[:, None]
            count = sample_weight.sum()
        self._probs = probs
        return self._finish(per, grad, count)


class NLLLoss(Loss):
    """Negative log-likelihood of log-probabilities (PyTorch's ``NLLLoss``).

    loss_i = -w_{y_i} x[i, y_i]; use after ``LogSoftmax(dim=1)``.

    Shape:
        - output: (N, C) log-probabilities; target: (N,) class indices.
    """

    classification = True

    def __init__(self, weight=None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = None if weight is None else check_weights(weight, type(self).__name__)

    def forward(self, output: np.ndarray, target: np.ndarray):
        self._check_output(output)
        n, c = output.shape
        weight = _class_weight(self.weight, c, output.dtype, "NLLLoss")
        target = check_class_indices(target, "NLLLoss", n_classes=c, n_samples=n)
        self.logits, self.labels = output, target
        rows = np.arange(n)
        sample_weight = np.ones(n, output.dtype) if weight is None else weight[target]
        per = -output[rows, target] * sample_weight
        grad = np.zeros_like(output)
        grad[rows, target] = -sample_weight
        count = n if weight is None else sample_weight.sum()
        return self._finish(per, grad, count)


class MultiMarginLoss(Loss):
    """Multi-class hinge loss (PyTorch's ``MultiMarginLoss``; the notes' hinge row).

    loss_i = sum_{j != y_i} w_{y_i} max(0, margin - x[i, y_i] + x[i, j])^p / C.

    Parameters
    ----------
    p : {1, 2}
        Power of the hinge.
    margin : float
        The margin (default 1).
    weight : array of shape (C,) or None
        Per-class weights.
    reduction : {'mean', 'sum', 'none'}
        'mean' divides by N.

    Shape:
        - output: (N, C) scores; target: (N,) class indices.
    """

    classification = True

    def __init__(
        self, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: expected p to be 1 or 2, got {p!r}")
        self.p = p
        self.margin = check_number(margin, "MultiMarginLoss", "margin")
        self.weight = None if weight is None else check_weights(weight, type(self).__name__)

    def forward(self, output: np.ndarray, target: np.ndarray):
        self._check_output(output)
        n, c = output.shape
        weight = _class_weight(self.weight, c, output.dtype, "MultiMarginLoss")
        target = check_class_indices(target, "MultiMarginLoss", n_classes=c, n_samples=n)
        self.logits, self.labels = output, target
        rows = np.arange(n)
        z = self.margin - output[rows, target][:, None] + output  # (N, C)
        z[rows, target] = 0.0  # the true class is not compared with itself
        active = z > 0
        hinge = np.where(active, z, 0.0)
        per_class = hinge if self.p == 1 else hinge * hinge
        d_per_class = active.astype(output.dtype) if self.p == 1 else 2.0 * hinge
        if weight is not None:
            per_class = per_class * weight[target][:, None]
            d_per_class = d_per_class * weight[target][:, None]
        per = per_class.sum(axis=1) / c
        grad = d_per_class / c
        grad[rows, target] = -grad.sum(axis=1)
        return self._finish(
            per.astype(output.dtype, copy=False), grad.astype(output.dtype, copy=False), n
        )

    def extra_repr(self) -> str:
        return f"p={self.p}, margin={self.margin}, reduction={self.reduction!r}"
