"""The notes' binary hinge loss, ``HingeLoss``: one score per sample, labels -1 / +1.

The earlier edition of the lecture notes (002, section 6 "Loss functions and activation
functions", table row "hinge / linear" and section 6.1) pairs the hinge loss with a
linear output layer for two-class problems:

    L_h(guess, actual) = max(1 - guess * actual, 0),      actual in {+1, -1}

For a score g (the linear output) and a label a:

    l     = max(1 - g a, 0)
    dl/dg = -a   where 1 - g a > 0,   0 elsewhere

At the kink (g a = 1) the loss has no derivative; 0 is used there (MyTorch's choice,
the one PyTorch makes for ``relu`` and ``MultiMarginLoss``). 'mean' divides the sum of
the l by the number of samples. The notes' multi-class relative is PyTorch's
``MultiMarginLoss`` (``margin.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.loss.base import Loss, tally_errors
from mytorch.validation import check_finite, describe

__all__ = ["HingeLoss"]


class HingeLoss(Loss):
    """The notes' binary hinge loss max(1 - score * label, 0), labels -1 and +1.

    The loss of the notes' (002, section 6.1) two-class classifier with a linear output:
    zero when the score has the label's sign and a magnitude of at least 1, growing
    linearly otherwise. PyTorch has no such class (``torch.nn.HingeEmbeddingLoss`` is
    another loss); MyTorch's name follows PyTorch's naming of losses.

    Parameters
    ----------
    reduction : {'mean', 'sum', 'none'}
        'mean' divides by the number of samples.

    Shape:
        - output: (N,) or (N, 1), the scores of a linear output layer, float.
        - target: (N,) or (N, 1), one label per score, -1 or +1 (any integer or float
          dtype; labels 0 and 1 are refused: map them with ``2 * y - 1``). Unlike the
          element-wise losses, a target (N,) fits an output (N, 1): there is one score
          per sample, so nothing can broadcast by mistake.
        - loss: scalar, or the output's shape for ``reduction='none'``.

    Attributes
    ----------
    classification : bool
        True: the targets are classes (the trainer counts a sample as an error when
        the sign of its score differs from its label, a score of 0 counting as -1).

    Examples
    --------
    >>> criterion = HingeLoss()
    >>> float(criterion(np.array([2.0, 0.5, -1.0]), np.array([1, 1, 1])))
    0.8333333333333334
    >>> criterion.backward()
    array([ 0.        , -0.33333333, -0.33333333])
    """

    classification = True

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Return the hinge loss of the scores ``output`` against the labels ``target``."""
        where = type(self).__name__
        self._check_output(output, ndim=(1, 2))
        if output.ndim == 2 and output.shape[1] != 1:
            raise ValueError(
                f"{where}: expected output of shape (N,) or (N, 1) (one score per sample, "
                f"a linear output layer), got {output.shape}; for C class scores use "
                "MultiMarginLoss"
            )
        labels = self._check_labels(target, output)
        self.logits, self.labels = output, target
        margin = 1.0 - output * labels
        active = margin > 0
        per = np.where(active, margin, 0.0).astype(output.dtype, copy=False)
        grad = np.where(active, -labels, 0.0).astype(output.dtype, copy=False)
        return self._finish(per, grad, output.shape[0])

    def _check_labels(self, target: Any, output: np.ndarray) -> np.ndarray:
        """``target`` as labels -1 / +1 in the output's dtype, or a clear error."""
        where = type(self).__name__
        if not isinstance(target, np.ndarray) or target.dtype.kind not in "iuf":
            raise TypeError(
                f"{where}: expected target to be a numpy array of labels -1 and +1 "
                f"(integer or float), got {describe(target)}"
            )
        n = output.shape[0]
        if target.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"{where}: expected target of shape ({n},) or ({n}, 1), one label per "
                f"score, got {target.shape}"
            )
        if target.dtype.kind == "f":
            check_finite(target, where, name="target")
        values = np.unique(target)
        if not np.isin(values, (-1, 1)).all():
            got = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
            hint = (
                "; labels 0/1 must be mapped to -1/+1 first (y = 2 * y - 1)"
                if np.isin(values, (0, 1)).all()
                else ""
            )
            raise ValueError(
                f"{where}: expected labels -1 and +1 (the notes' hinge loss), got values "
                f"{{{got}}}{hint}"
            )
        return target.astype(output.dtype, copy=False).reshape(output.shape)

    def counts_errors(self, target: np.ndarray) -> bool:
        """True: labels -1 / +1 are classes."""
        return True

    def count_errors(
        self, output: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None
    ) -> float:
        """Samples whose score's sign is not their label (a score of 0 counts as -1);
        with ``weight`` (N,), the sum of their weights."""
        predicted = np.where(np.asarray(output).reshape(-1) > 0, 1, -1)
        return tally_errors(predicted != np.asarray(target).reshape(-1), weight)
