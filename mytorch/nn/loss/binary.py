"""Binary cross-entropy on logits, ``BCEWithLogitsLoss``: one loss per element.

For a logit x, a target y in [0, 1], a weight w and a positive-class weight p (both 1
if not given; broadcast against the output as in PyTorch):

    l     = -w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
          = w [(1 - y) x + (1 + (p - 1) y) softplus(-x)]       (no exp can overflow)
    dl/dx = w [(1 - y) - (1 + (p - 1) y) sigmoid(-x)]

'mean' divides the sum of the l by the number of elements.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mytorch.nn.functional import sigmoid
from mytorch.nn.loss.base import Loss
from mytorch.validation import check_float_array

__all__ = ["BCEWithLogitsLoss"]


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits, sigmoid folded in (PyTorch's ``BCEWithLogitsLoss``).

    Parameters
    ----------
    weight : array-like or None
        Rescaling weight w, broadcast against the output (any finite numbers, as in
        PyTorch); a buffer, in ``state_dict()``.
    size_average, reduce : None
        PyTorch's deprecated arguments (see :class:`~mytorch.nn.loss.base.Loss`).
    reduction : {'mean', 'sum', 'none'}
        'mean' averages over every element.
    pos_weight : array-like or None
        Weight p of positive examples, broadcast against the target (a vector of C
        values weighs each class of (N, C) output); a buffer, in ``state_dict()``.

    Shape:
        - output: any shape, logits; target: same shape and dtype, values in [0, 1]
          (PyTorch's documented domain).
        - loss: scalar, or the output's shape for ``reduction='none'``.
    """

    def __init__(
        self,
        weight: npt.ArrayLike | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: npt.ArrayLike | None = None,
    ) -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        self._register_weight("weight", weight)
        self._register_weight("pos_weight", pos_weight)

    def forward(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        where = type(self).__name__
        self._check_output(output, ndim=None)
        check_float_array(target, where, ndim=None, dtype=output.dtype, name="target")
        if target.shape != output.shape:
            raise ValueError(
                f"{where}: expected target of shape {output.shape}, got {target.shape}"
            )
        if target.size and (target.min() < 0 or target.max() > 1):
            raise ValueError(
                f"{where}: expected target values in [0, 1], got "
                f"values in [{target.min()}, {target.max()}]"
            )
        weight = self._broadcast_weight("weight", output)
        pos_weight = self._broadcast_weight("pos_weight", output)
        self.logits, self.labels = output, target
        x, y = output, target
        softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # log(1 + e^-x)
        if pos_weight is None:
            log_weight = 1.0
            per = (1.0 - y) * x + softplus_neg
        else:
            log_weight = 1.0 + (pos_weight - 1.0) * y
            per = (1.0 - y) * x + log_weight * softplus_neg
        grad = (1.0 - y) - log_weight * sigmoid(-x)  # d/dx
        if weight is not None:
            per = per * weight
            grad = grad * weight
        return self._finish(np.asarray(per, dtype=x.dtype), np.asarray(grad, dtype=x.dtype), x.size)

    def _broadcast_weight(self, name: str, output: np.ndarray) -> np.ndarray | None:
        """The buffer ``name`` in the output's dtype; it must broadcast to the output's
        shape without changing it."""
        weight = self._weight_as(name, output.dtype)
        if weight is not None:
            try:
                fits = np.broadcast_shapes(weight.shape, output.shape) == output.shape
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"{type(self).__name__}: expected {name} broadcastable to the output's "
                    f"shape {output.shape}, got shape {weight.shape}"
                )
        return weight
