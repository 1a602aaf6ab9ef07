"""Class scores and class targets in PyTorch's layouts, for the losses of class scores.

PyTorch's losses of class scores take the scores x in one of three layouts, and their
class-index targets y in the same layout without the class axis:

    x (C,)                   y ()                   one sample
    x (N, C)                 y (N,)                 N samples
    x (N, C, d1, ..., dk)    y (N, d1, ..., dk)     N d1 ... dk samples (scores per position)

Class-probability targets have the shape of x. The losses are equations over samples
(rows of C scores), so an output in another layout than (N, C) is read as the
(samples, C) matrix of its samples (:func:`as_rows`), and the gradient goes back into
the output's layout (:func:`from_rows`). The (N, C) case, the common one, is used as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.loss.base import Loss
from mytorch.validation import check_float_array, describe

__all__ = [
    "ClassScoreLoss",
    "as_rows",
    "check_class_targets",
    "check_ignore_index",
    "check_probability_target",
    "from_rows",
]


def as_rows(array: np.ndarray, axis: int) -> np.ndarray:
    """``array`` with its class axis ``axis`` moved last, as a (samples, C) matrix."""
    return np.moveaxis(array, axis, -1).reshape(-1, array.shape[axis])


def from_rows(rows: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """The inverse of :func:`as_rows`: (samples, C) rows back into ``shape``."""
    moved = shape[:axis] + shape[axis + 1 :] + (shape[axis],)
    return np.moveaxis(rows.reshape(moved), -1, axis)


def check_class_targets(
    target: Any, where: str, *, n_classes: int, shape: tuple[int, ...], ignore_index: int | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check class indices of ``shape`` in [0, C) (or equal to ``ignore_index``).

    Returns
    -------
    labels : numpy.ndarray
        The targets as a flat int64 array, one per sample (in :func:`as_rows` order).
    ignored : numpy.ndarray or None
        Where a label equals ``ignore_index`` (boolean, flat), or None if nowhere.
    """
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{where}: expected target to be a numpy.ndarray, got {describe(target)}")
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: expected integer class indices as target, got dtype {target.dtype}"
        )
    if target.shape != shape:
        if target.ndim == 1 and len(shape) == 1:
            raise ValueError(
                f"{where}: target has {target.shape[0]} labels but the input has {shape[0]} rows"
            )
        raise ValueError(f"{where}: expected target of shape {shape}, got {target.shape}")
    labels = (target if target.ndim == 1 else target.reshape(-1)).astype(np.int64, copy=False)
    ignored = None
    if labels.size:
        # ufunc.reduce: .min() and .max() go through Python functions of NumPy's
        low, high = int(np.minimum.reduce(labels)), int(np.maximum.reduce(labels))
        if ignore_index is not None and low <= ignore_index <= high:
            ignored = labels == ignore_index
        if low < 0 or high >= n_classes:
            bad = (labels < 0) | (labels >= n_classes)
            if ignored is not None:
                bad &= ~ignored
            if bad.any():
                bad_labels = labels[bad]
                first = int(bad_labels.min() if bad_labels.min() < 0 else bad_labels.max())
                also = "" if ignore_index is None else f", or ignore_index ({ignore_index})"
                raise ValueError(
                    f"{where}: target label {first} is out of range; expected class indices "
                    f"in [0, {n_classes - 1}] for {n_classes} classes{also}"
                )
    return labels, ignored


def check_ignore_index(value: Any, where: str) -> int:
    """Return ``value`` as an int; a TypeError naming ``where`` if it is not an integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: expected ignore_index to be an int, got {value!r}")
    return int(value)


def check_probability_target(target: Any, where: str, output: np.ndarray) -> np.ndarray:
    """Class probabilities: the output's shape and dtype, values in [0, 1] (PyTorch's
    documented domain; rows need not sum to 1, as in PyTorch)."""
    check_float_array(target, where, ndim=None, name="target", allow_empty=True)
    if target.shape != output.shape:
        raise ValueError(f"{where}: expected target of shape {output.shape}, got {target.shape}")
    if target.dtype != output.dtype:
        raise TypeError(
            f"{where}: expected target of dtype {output.dtype} like the input, got {target.dtype}"
        )
    if target.size:
        low, high = target.min(), target.max()
        if low < 0 or high > 1:
            raise ValueError(
                f"{where}: expected target probabilities in [0, 1], got values in [{low}, {high}]"
            )
    return target


class ClassScoreLoss(Loss):
    """A loss of class scores in any of PyTorch's layouts (see the module docstring).

    A subclass implements :meth:`forward_rows` for (samples, C) scores and flat
    targets; ``forward`` checks the output and target in their own layout, hands the
    rows over, and puts the loss and gradient back into that layout.
    """

    classification = True
    #: The largest number of output dimensions taken (None: any, (N, C, d1, ..., dk)).
    max_ndim: int | None = None
    #: Whether a float target holds class probabilities (else only class indices are taken).
    takes_probabilities = False
    #: The target's ignore_index (None: the loss has none).
    ignore_index: int | None = None

    def forward(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        where = type(self).__name__
        self._check_output(output, ndim=None)
        if output.ndim == 2:  # the common layout: rows already
            axis, rows, shape = 1, output, output.shape[:1]
        else:
            axis = self._class_axis_of(output, where)
            rows, shape = as_rows(output, axis), output.shape[:axis] + output.shape[axis + 1 :]
        self.logits, self.labels = output, target
        if self._class_axis != axis:  # (read first: a Module's setattr is slow)
            self._class_axis = axis
        if self.takes_probabilities and isinstance(target, np.ndarray) and target.dtype.kind == "f":
            self.check_probabilities(target, output)
            targets, ignored = (target if output.ndim == 2 else as_rows(target, axis)), None
        else:
            targets, ignored = check_class_targets(
                target,
                where,
                n_classes=output.shape[axis],
                shape=shape,
                ignore_index=self.ignore_index,
            )
        loss = self.forward_rows(rows, targets, ignored)
        if output.ndim == 2:
            return loss
        self._grad = from_rows(self._grad, output.shape, axis)
        if self.reduction == "none":
            self.loss = loss = loss.reshape(shape)
        return loss

    def _class_axis_of(self, output: np.ndarray, where: str) -> int:
        if output.ndim == 0 or (self.max_ndim is not None and output.ndim > self.max_ndim):
            layouts = "(C,) or (N, C)" if self.max_ndim == 2 else "(C,), (N, C) or (N, C, d1, ...)"
            raise ValueError(
                f"{where}: expected output of shape {layouts}, got a {output.ndim}-D array "
                f"of shape {output.shape}"
            )
        return 0 if output.ndim == 1 else 1

    def check_probabilities(self, target: np.ndarray, output: np.ndarray) -> None:
        """Raise unless ``target`` is a valid probability target for ``output``."""

    def forward_rows(
        self, output: np.ndarray, target: np.ndarray, ignored: np.ndarray | None
    ) -> np.ndarray:
        """The loss of (samples, C) scores against flat class indices (or (samples, C)
        probabilities); sets ``self._grad`` for those rows."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward_rows()")
