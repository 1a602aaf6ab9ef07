"""The course's losses (CMU 11-785 HW1P1 ``mytorch/loss.py``): ``Criterion`` and friends.

An adapter over :mod:`mytorch.nn.loss`: ``Criterion`` is the course's name for the base
class of every loss, ``nn.loss.Loss`` (which already answers the course's
``derivative()``), and ``SoftmaxCrossEntropy`` is ``nn.CrossEntropyLoss`` with the
course's conventions: one-hot labels, per-sample losses, and the softmax kept as ``sm``.
"""

from __future__ import annotations

import numpy as np

if not __package__:  # pragma: no cover - exercised by the course-autograder test in a subprocess
    # The course autograder puts mytorch/ on sys.path and runs `import loss`.
    from _course_import import import_from_package

    import_from_package(__name__)

from mytorch.nn.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
)
from mytorch.nn.loss import Loss as Criterion
from mytorch.validation import check_float_array, check_probabilities

__all__ = [
    "Criterion",
    "SoftmaxCrossEntropy",
    "MSELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "MultiMarginLoss",
]


class SoftmaxCrossEntropy(CrossEntropyLoss):
    """The course's softmax cross-entropy.

    ``CrossEntropyLoss(reduction='none')`` with one-hot labels: ``ce(x, y)`` returns
    the per-sample losses, shape (batch,), and ``derivative()`` returns
    softmax(x) - y, shape (batch, C), the gradient of their sum.

    Attributes
    ----------
    sm : numpy.ndarray
        softmax(x) of the last call, shape (batch, C).

    Examples
    --------
    >>> ce = SoftmaxCrossEntropy()
    >>> ce(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]))
    array([0.69314718])
    """

    def __init__(self) -> None:
        super().__init__(reduction="none")
        self.sm: np.ndarray | None = None

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the per-sample losses of logits x (batch, C) against one-hot y (batch, C).

        The course fixes the layout: 2-D logits, and labels that are one-hot (or
        probability) rows summing to 1, or class indices (batch,).
        """
        name = type(self).__name__
        check_float_array(x, name, ndim=2, name="output")
        if isinstance(y, np.ndarray) and y.dtype.kind == "f":
            check_probabilities(y, name, shape=x.shape, dtype=x.dtype)
        loss = super().forward(x, y)
        self.sm = self._probs
        return loss
