"""Multi-class hinge loss, ``MultiMarginLoss`` (PyTorch's; the notes' hinge loss is the
two-class ``HingeLoss`` of ``hinge.py``).

For one sample with scores x (C,), target class y, margin m, power p in {1, 2} and
class weights w (1 if not given):

    z_j   = m - x_y + x_j                          for every class j != y
    l     = sum_{j != y} w_y max(0, z_j)^p / C
    dl/dx_j = w_y p max(0, z_j)^(p-1) / C           (j != y, where z_j > 0)
    dl/dx_y = -sum_{j != y} dl/dx_j

'mean' divides the sum of the l by the number of samples.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mytorch.nn.loss.classes import ClassScoreLoss
from mytorch.validation import check_number

__all__ = ["MultiMarginLoss"]


class MultiMarginLoss(ClassScoreLoss):
    """Multi-class hinge loss (PyTorch's ``MultiMarginLoss``), a C-class relative of the
    notes' two-class hinge loss (:class:`~mytorch.nn.loss.hinge.HingeLoss`).

    Parameters
    ----------
    p : {1, 2}
        Power of the hinge.
    margin : float
        The margin m (default 1).
    weight : array of shape (C,) or None
        Per-class weights (any finite numbers, as in PyTorch); a buffer, in
        ``state_dict()``.
    size_average, reduce : None
        PyTorch's deprecated arguments (see :class:`~mytorch.nn.loss.base.Loss`).
    reduction : {'mean', 'sum', 'none'}
        'mean' divides by the number of samples.

    Shape:
        - output: (C,) or (N, C) scores; target: class indices of shape () or (N,).
        - loss: scalar, or () or (N,) for ``reduction='none'``.
    """

    max_ndim = 2

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: npt.ArrayLike | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce)
        where = type(self).__name__
        if isinstance(p, bool) or p not in (1, 2):
            raise ValueError(f"{where}: expected p to be 1 or 2, got {p!r}")
        self.p = int(p)
        self.margin = check_number(margin, where, "margin")
        self._register_weight("weight", weight)

    def forward_rows(
        self, output: np.ndarray, target: np.ndarray, ignored: np.ndarray | None
    ) -> np.ndarray:
        n, c = output.shape
        weight = self._weight_as("weight", output.dtype)
        if weight is not None and weight.shape != (c,):
            raise ValueError(
                f"{type(self).__name__}: expected weight of shape ({c},), got {weight.shape}"
            )
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
