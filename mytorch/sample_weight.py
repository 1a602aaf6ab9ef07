"""Per-sample weights in training: the weighted mean loss, its gradient, its batches.

With a weight w_i >= 0 for each sample, a batch's loss is the weighted mean of the
per-sample losses, as scikit-learn's MLP and its other estimators define it:

    L = sum_i w_i l_i / sum_i w_i,        dL/dl_i = w_i / sum_i w_i

where l_i is the criterion's loss of sample i (its ``reduction='none'`` value; for an
element-wise loss such as ``MSELoss`` on (N, k) targets, the mean of the sample's k
elements, so that weights of ones give the criterion's 'mean'). The gradient reaches
the network through ``criterion.backward(grad_output)`` with grad_output = dL/dl, which
is exact: no second formula of any loss. A weight of 0 is the sample left out; an
integer weight k is the sample repeated k times (within one batch).

What a weight does not reach: a criterion's own class ``weight`` or ``ignore_index``
acts as in its 'none' values (PyTorch's), scaling or zeroing l_i while the denominator
stays sum_i w_i (fold class weights into the sample weights instead); and a sample of
weight 0 still enters ``BatchNorm1d``'s batch statistics.

Class weights are sample weights too: ``w_i = class_weight[y_i]``
(:func:`balanced_class_weights` gives scikit-learn's 'balanced' ones,
n_samples / (n_classes * count of the class)).

:class:`mytorch.trainer.Trainer` uses this module when ``fit`` gets ``sample_weight``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np

from mytorch.data import DataLoader
from mytorch.validation import describe

__all__ = [
    "SampleWeighting",
    "WeightedBatches",
    "balanced_class_weights",
    "check_sample_weight",
    "weighted_loss",
]


def check_sample_weight(
    sample_weight: Any, n_samples: int, where: str, name: str = "sample_weight"
) -> np.ndarray:
    """Return ``sample_weight`` as a float64 array of shape (n_samples,), checked.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,)
        Finite, non-negative numbers, not all zero.
    n_samples : int
        The number of samples they weigh.
    where : str
        Who checks (starts the error messages).
    name : str
        What the messages call the weights.

    Returns
    -------
    numpy.ndarray
        float64, shape (n_samples,); a copy, never the caller's array.

    Raises
    ------
    TypeError
        If the weights are not numbers.
    ValueError
        If their shape is not (n_samples,), or one is negative, NaN or inf, or all are 0.
    """
    array = np.asarray(sample_weight)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{where}: expected {name} to be an array of numbers, got {describe(sample_weight)}"
        )
    if array.shape != (n_samples,):
        raise ValueError(
            f"{where}: expected {name} of shape ({n_samples},), one weight per sample, "
            f"got shape {array.shape}"
        )
    weight = array.astype(np.float64)  # a copy: the caller's array is never changed
    if not np.isfinite(weight).all():
        raise ValueError(f"{where}: expected finite {name}, got NaN or inf")
    if (weight < 0).any():
        first = int(np.flatnonzero(weight < 0)[0])
        raise ValueError(f"{where}: expected {name} >= 0, got {weight[first]} at sample {first}")
    if not weight.any():
        raise ValueError(f"{where}: every {name} is 0, which leaves no sample to weigh")
    return weight


def balanced_class_weights(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """scikit-learn's 'balanced' class weights, n_samples / (n_classes * bincount(labels)).

    Parameters
    ----------
    labels : numpy.ndarray
        Class indices, shape (N,), integers >= 0.
    n_classes : int, optional
        The length of the result (default ``labels.max() + 1``).

    Returns
    -------
    numpy.ndarray
        float64, shape (n_classes,): the weight of each class index. The n_classes of
        the formula counts the classes present in ``labels``; a class absent from them
        has no frequency to balance and gets 0. Every class present then has the same
        total weight, N / (classes present).

    Examples
    --------
    >>> balanced_class_weights(np.array([0, 0, 0, 1])).tolist()
    [0.6666666666666666, 2.0]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or labels.size == 0:
        raise ValueError(
            f"balanced_class_weights: expected non-empty class indices of shape (N,), "
            f"got {describe(labels)}"
        )
    if labels.min() < 0:
        raise ValueError(f"balanced_class_weights: expected labels >= 0, got {labels.min()}")
    counts = np.bincount(labels, minlength=0 if n_classes is None else n_classes)
    present = counts > 0
    weights = np.zeros(len(counts))
    weights[present] = len(labels) / (np.count_nonzero(present) * counts[present])
    return weights


@contextmanager
def _per_sample_losses(criterion: Any, where: str) -> Iterator[None]:
    """Switch ``criterion`` to ``reduction='none'`` for one forward and backward."""
    saved = getattr(criterion, "reduction", None)
    if saved not in ("mean", "sum", "none"):
        raise TypeError(
            f"{where}: sample_weight needs a criterion with a reduction ('mean', 'sum' or "
            f"'none'), such as mytorch.nn's losses, got {criterion!r}"
        )
    criterion.reduction = "none"
    try:
        yield
    finally:
        criterion.reduction = saved


def _per_sample(losses: Any, n_samples: int, where: str) -> np.ndarray:
    losses = np.asarray(losses)
    if losses.ndim == 0 or losses.shape[0] != n_samples:
        raise ValueError(
            f"{where}: sample_weight needs one loss per sample from the criterion with "
            f"reduction='none', got shape {losses.shape} for {n_samples} samples"
        )
    return losses


def weighted_loss(
    criterion: Any,
    output: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    *,
    backward: bool = True,
    where: str = "Trainer",
) -> tuple[float, np.ndarray | None]:
    """The weighted loss of a batch and its gradient with respect to ``output``.

    Parameters
    ----------
    criterion : Loss
        A loss of ``mytorch.nn`` (any reduction; it is computed with 'none' and put
        back).
    output : numpy.ndarray
        The network's output, shape (B, ...).
    target : numpy.ndarray
        What the criterion takes, shape (B, ...).
    weight : numpy.ndarray
        The batch's sample weights, shape (B,), >= 0.
    backward : bool
        Also return the gradient (training); False for evaluation.
    where : str
        Who asks (starts the error messages).

    Returns
    -------
    weighted_sum : float
        sum_i w_i l_i, the numerator of the weighted mean (0 where every w_i is 0).
    grad : numpy.ndarray or None
        dL/d(output) of L = sum_i w_i l_i / sum_i w_i, of the output's shape and dtype
        (None without ``backward``).
    """
    with _per_sample_losses(criterion, where):
        losses = _per_sample(criterion(output, target), len(weight), where)
        # An element-wise loss has several losses per sample: the sample's loss is their
        # mean, so that weights of ones give the criterion's own 'mean'.
        elements = losses.size // len(weight)
        shape = (len(weight),) + (1,) * (losses.ndim - 1)
        per_element = (weight / elements).reshape(shape)
        weighted_sum = float(np.sum(per_element * losses))
        if not backward:
            return weighted_sum, None
        total = float(weight.sum())
        grad_losses = np.broadcast_to(per_element / total, losses.shape).astype(losses.dtype)
        return weighted_sum, criterion.backward(grad_losses)


class WeightedBatches:
    """The batches of a :class:`~mytorch.data.DataLoader` with their sample weights.

    Yields ``(X_batch, y_batch, w_batch)``: the samples ``loader`` would give, in the
    same order (the same permutation, drawn from the loader's own random source), with
    their weights.

    Parameters
    ----------
    loader : DataLoader
        The training batches (its ``X``, ``y``, batch size, shuffling and source).
    weight : numpy.ndarray
        One weight per sample, shape (N,).
    """

    def __init__(self, loader: DataLoader, weight: np.ndarray) -> None:
        self.loader = loader
        self.weight = weight
        # A loader of sample indices, drawing its permutations from the same source.
        self._indices = DataLoader(
            loader.X,
            np.arange(loader.n_samples),
            batch_size=loader.batch_size,
            shuffle=loader.shuffle,
            drop_last=loader.drop_last,
            rng=loader.rng,
        )

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        # Training batches always have targets (fit requires them).
        y, weight = cast(np.ndarray, self.loader.y), self.weight
        for x_batch, index in self._indices:
            yield x_batch, y[index], weight[index]


class SampleWeighting:
    """The sample-weight part of :class:`mytorch.trainer.Trainer` (a base class of it)."""

    def weighted_batches(
        self, loader: DataLoader, sample_weight: Any, step: str
    ) -> tuple[Iterable[Any], float]:
        """The batches to run ``step`` on, and the total weight of the samples.

        Parameters
        ----------
        loader : DataLoader
            The batches of (X, y).
        sample_weight : array-like of shape (N,) or None
            The samples' weights (checked here), or None.
        step : {'training_step', 'evaluation_step'}
            The trainer's method that will take each batch's weights.

        Returns
        -------
        batches : iterable
            ``loader`` itself without weights (its pairs (X_batch, y_batch)), else a
            :class:`WeightedBatches` (triples (X_batch, y_batch, w_batch)).
        total : float
            N, or the sum of the weights.

        Raises
        ------
        TypeError
            If a subclass's own ``step`` takes no ``weight``.
        """
        if sample_weight is None:
            return loader, loader.n_samples
        if "weight" not in inspect.signature(getattr(self, step)).parameters:
            raise TypeError(
                f"{type(self).__name__}: sample_weight needs a {step}(x, y, weight); "
                f"this trainer's own {step} takes no weight"
            )
        where = f"Trainer.{'fit' if step == 'training_step' else 'evaluate'}"
        weight = check_sample_weight(sample_weight, loader.n_samples, where)
        return WeightedBatches(loader, weight), float(weight.sum())

    @staticmethod
    def check_val_data(val_data: Any) -> tuple[Any, Any, Any] | None:
        """``fit``'s ``val_data`` as (X_val, y_val, sample_weight_val or None), or None.

        Raises
        ------
        TypeError
            If it is neither a pair (X_val, y_val) nor a triple with the weights.
        ValueError
            If the weights are not one finite weight >= 0 per sample (not all 0).
        """
        if val_data is None:
            return None
        if not (isinstance(val_data, (tuple, list)) and len(val_data) in (2, 3)):
            got = (
                f"array of shape {val_data.shape}"
                if isinstance(val_data, np.ndarray)
                else repr(val_data)
            )
            raise TypeError(
                f"Trainer.fit: expected val_data to be a pair (X_val, y_val) or "
                f"(X_val, y_val, sample_weight_val), got {got}"
            )
        X_val, y_val, *weight = val_data
        if not weight or weight[0] is None:
            return X_val, y_val, None
        n_samples = len(X_val) if hasattr(X_val, "__len__") else 0
        return (
            X_val,
            y_val,
            check_sample_weight(weight[0], n_samples, "Trainer.fit", "sample_weight_val"),
        )
