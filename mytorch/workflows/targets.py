"""A loss of ``mytorch.nn`` on a two-class network, and the targets it takes.

A two-class network here always ends in two logits (so that ``mytorch predict``,
``evaluate`` and the decision-boundary pictures read it by arg-max), but the losses
want different targets: ``CrossEntropyLoss`` and ``MultiMarginLoss`` class indices,
``MSELoss`` and ``BCEWithLogitsLoss`` one-hot rows, and a loss of one score per point
(the notes' hinge, max(0, 1 - y s) with y = -1 or +1) a single column. The last kind is
given the score s = logit_1 - logit_0 by :class:`OneScoreLoss`, whose decision s > 0 is
the arg-max of the two logits.

Which targets a loss takes is found by trying it on three points (no loss class is
named here), so a loss added to ``mytorch.nn`` later trains here without a change: a
loss of classes (``classification = True``) is tried with class indices, then with one
score per point and classes -1 / +1, then with one-hot rows; a loss of values with
one-hot rows first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mytorch.config import LOSSES
from mytorch.nn.loss import Loss

__all__ = ["OneScoreLoss", "TwoClassLoss", "two_class_loss"]


class OneScoreLoss(Loss):
    """A loss of one score per point, on two logits: score = logit_1 - logit_0.

    Parameters
    ----------
    inner : Loss
        The loss of the scores, e.g. a hinge loss taking targets -1 / +1.
    column : bool
        Give ``inner`` the scores as a column (N, 1) (else as a vector (N,)).

    Shape:
        - output: (N, 2) logits; target: what ``inner`` takes for the scores.

    Notes
    -----
    d(loss)/d(logit_1) = d(loss)/d(score) and d(loss)/d(logit_0) = -d(loss)/d(score).
    """

    def __init__(self, inner: Loss, column: bool = True) -> None:
        super().__init__(inner.reduction)
        self.inner, self.column = inner, column

    def forward(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        output = self._check_output(output)
        if output.shape[1] != 2:
            raise ValueError(
                f"OneScoreLoss: expected output of shape (N, 2) (two logits), got {output.shape}"
            )
        score = output[:, 1:] - output[:, :1]
        self.logits, self.labels = output, target
        self.loss = self.inner(score if self.column else score[:, 0], target)
        return self.loss

    def backward(self) -> np.ndarray:  # type: ignore[override]  # of the mean loss only
        grad_score = np.asarray(self.inner.backward()).reshape(-1, 1)
        return np.concatenate([-grad_score, grad_score], axis=1)

    def counts_errors(self, target: np.ndarray) -> bool:
        """As the inner loss says for ``target`` (the hinge: yes)."""
        return self.inner.counts_errors(target)

    def count_errors(
        self, output: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None
    ) -> float:
        """The inner loss's count on the scores logit_1 - logit_0."""
        score = output[:, 1:] - output[:, :1]
        return self.inner.count_errors(score if self.column else score[:, 0], target, weight)

    def get_config(self) -> dict:
        return {"inner": type(self.inner).__name__, "column": self.column}

    def extra_repr(self) -> str:
        return f"{type(self.inner).__name__}, column={self.column}"


@dataclass
class TwoClassLoss:
    """A loss ready for a two-class network, and how it reads the classes.

    Attributes
    ----------
    name : str
        Its name in :data:`mytorch.config.LOSSES`.
    criterion : Loss
        Called as ``criterion(logits (N, 2), targets(y))``.
    targets : callable
        Class labels (N,) of 0 and 1 -> the targets ``criterion`` takes.
    kind : str
        ``"classes"``, ``"one-hot"``, ``"score"`` (targets -1 / +1) or ``"score01"``.
    code : str
        Python that makes ``criterion`` and ``targets`` from ``y`` (for the snippet the
        playground writes).
    """

    name: str
    criterion: Loss
    targets: Callable[[np.ndarray], np.ndarray]
    kind: str
    code: str


def _candidates(loss_class: type[Loss]) -> list[tuple[str, Callable[[], Loss], Callable, str]]:
    """(kind, make criterion, make targets, code) in the order they are tried."""
    name = f"nn.{loss_class.__name__}()"

    def classes(y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.int64)

    def one_hot(y: np.ndarray) -> np.ndarray:
        return np.eye(2)[np.asarray(y, dtype=np.int64)]

    def signs(y: np.ndarray) -> np.ndarray:
        return (2.0 * np.asarray(y, dtype=np.float64) - 1.0)[:, None]

    def sign_vector(y: np.ndarray) -> np.ndarray:
        return 2.0 * np.asarray(y, dtype=np.float64) - 1.0

    def zero_one(y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)[:, None]

    own = [
        ("classes", loss_class, classes, f"criterion = {name}\ntargets = y"),
        ("one-hot", loss_class, one_hot, f"criterion = {name}\ntargets = np.eye(2)[y]"),
    ]
    wrapper = "from mytorch.workflows.targets import OneScoreLoss\ncriterion = OneScoreLoss("
    scores = [
        (
            "score",
            lambda: OneScoreLoss(loss_class()),
            signs,
            f"{wrapper}{name})  # score = logit_1 - logit_0\ntargets = (2.0 * y - 1.0)[:, None]",
        ),
        (
            "score",
            lambda: OneScoreLoss(loss_class(), column=False),
            sign_vector,
            f"{wrapper}{name}, column=False)  # score = logit_1 - logit_0\ntargets = 2.0 * y - 1.0",
        ),
        (
            "score01",
            lambda: OneScoreLoss(loss_class()),
            zero_one,
            f"{wrapper}{name})  # score = logit_1 - logit_0\ntargets = y[:, None] * 1.0",
        ),
    ]
    if getattr(loss_class, "classification", False):
        # A loss of classes: class indices, else classes as signs -1 / +1 (a hinge).
        return [own[0], *scores, own[1]]
    return [own[1], own[0], *scores]  # a loss of values: one-hot rows first


def _accepts(criterion: Loss, targets: Callable) -> bool:
    """Whether ``criterion`` takes two logits of three points with these targets."""
    logits = np.array([[0.3, -0.2], [-0.5, 0.4], [0.1, 0.2]])
    try:
        with np.errstate(all="ignore"):
            loss = criterion(logits, targets(np.array([0, 1, 1])))
            grad = np.asarray(criterion.backward())
    except (ValueError, TypeError, IndexError):
        return False
    return bool(np.all(np.isfinite(loss))) and grad.shape == logits.shape


def two_class_loss(name: str) -> TwoClassLoss:
    """The loss ``name`` of :data:`mytorch.config.LOSSES`, ready for two logits.

    Parameters
    ----------
    name : str
        E.g. ``"cross_entropy"``, ``"mse"``, ``"hinge"``.

    Returns
    -------
    TwoClassLoss

    Raises
    ------
    ValueError
        If the name is unknown, or the loss takes none of the targets tried.

    Examples
    --------
    >>> loss = two_class_loss("mse")
    >>> loss.kind, loss.targets(np.array([1, 0])).tolist()
    ('one-hot', [[0.0, 1.0], [1.0, 0.0]])
    """
    if name not in LOSSES:
        raise ValueError(f"two_class_loss: expected a loss in {sorted(LOSSES)}, got {name!r}")
    for kind, make, targets, code in _candidates(LOSSES[name]):
        if _accepts(make(), targets):
            return TwoClassLoss(name, make(), targets, kind, code)
    raise ValueError(
        f"two_class_loss: {LOSSES[name].__name__} takes none of class indices, one-hot "
        "rows or one score per point; it cannot train a two-class network"
    )
