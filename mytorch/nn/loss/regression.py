"""Mean squared error, ``MSELoss``: one loss per element.

    l = (x - y)^2,     dl/dx = 2 (x - y)

'mean' divides the sum of the l by the number of elements.
"""

from __future__ import annotations

import numpy as np

from mytorch.nn.loss.base import Loss
from mytorch.validation import check_float_array

__all__ = ["MSELoss"]


class MSELoss(Loss):
    """Mean squared error: (output - target)^2 per element (PyTorch's ``MSELoss``).

    Parameters
    ----------
    size_average, reduce : None
        PyTorch's deprecated arguments (see :class:`~mytorch.nn.loss.base.Loss`).
    reduction : {'mean', 'sum', 'none'}
        'mean' averages over every element.

    Shape:
        - output: any shape (0-d included), float.
        - target: same shape and dtype as output (PyTorch broadcasts a different shape
          with a warning that the result is likely wrong; MyTorch refuses it).
        - loss: scalar, or the shape of output for ``reduction='none'``.

    Examples
    --------
    >>> float(MSELoss()(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])))
    2.5
    """

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction, size_average=size_average, reduce=reduce)

    def forward(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        self._check_output(output, ndim=None)
        check_float_array(target, "MSELoss", ndim=None, dtype=output.dtype, name="target")
        if target.shape != output.shape:
            raise ValueError(
                f"MSELoss: expected target of shape {output.shape} like the output, "
                f"got {target.shape}"
            )
        self.logits, self.labels = output, target
        diff = output - target
        return self._finish(np.asarray(diff * diff), np.asarray(2.0 * diff), diff.size)
