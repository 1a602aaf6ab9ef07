"""``MLPClassifier``: a softmax over the classes, trained with the cross-entropy, or one
linear output trained with the notes' hinge loss (two classes)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from mytorch.integrations.sklearn._base import ATTRIBUTES_DOC, PARAMETERS_DOC, BaseMLP
from mytorch.integrations.sklearn._params import check_param
from mytorch.nn.functional import softmax
from mytorch.nn.loss import CrossEntropyLoss, HingeLoss

__all__ = ["MLPClassifier"]


def _gives_probabilities(estimator: MLPClassifier) -> bool:
    """Whether ``predict_proba`` exists: not with the hinge loss, whose outputs are scores.

    Raises AttributeError otherwise, as scikit-learn's hinge-loss models do
    (``SGDClassifier(loss='hinge')``), so ``hasattr(clf, 'predict_proba')`` is False.
    """
    if estimator.loss == "hinge":
        raise AttributeError(
            f"{type(estimator).__name__}: predict_proba is not available with "
            "loss='hinge': the hinge loss trains a score, not probabilities; use "
            "decision_function (its sign is the class) or loss='log_loss'"
        )
    return True


def _gives_scores(estimator: MLPClassifier) -> bool:
    """Whether ``decision_function`` exists: with the hinge loss, whose output is a score."""
    if estimator.loss != "hinge":
        raise AttributeError(
            f"{type(estimator).__name__}: decision_function is available with "
            f"loss='hinge' only (got loss={estimator.loss!r}); use predict_proba"
        )
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained with MyTorch.

    A softmax output over the classes and the cross-entropy loss
    (``nn.CrossEntropyLoss``); hidden layers as in ``mytorch train``. Class labels can
    be any sortable values (ints, strings, ...): ``classes_`` maps the network's
    outputs back to them.

    Parameters
    ----------{PARAMETERS_DOC}    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, ``{{label: weight}}``: each sample's loss is weighted by
        its class's weight (times its ``sample_weight``; a class missing from the dict
        weighs 1). 'balanced' weighs class c by n_samples / (n_classes * n_c), from the
        (weighted) counts of ``y`` in ``fit``, so that every class weighs the same in
        total; ``partial_fit`` refuses it (one call's counts are not the data's).
    label_smoothing : float, default=0.0
        In [0, 1]: train against targets mixed with the uniform distribution,
        ``(1 - label_smoothing) one_hot + label_smoothing / n_classes``
        (``nn.CrossEntropyLoss(label_smoothing=...)``, PyTorch's); the loss curves are
        of this smoothed cross-entropy. Not with ``loss='hinge'``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.{ATTRIBUTES_DOC}
    Notes
    -----
    Weights (``class_weight``, and ``sample_weight`` of ``fit``, ``partial_fit`` and
    ``score``) mean what they mean in scikit-learn: the loss of each mini-batch is the
    weighted mean sum_i w_i l_i / sum_i w_i, so that in full-batch training a weight
    of 0 is the sample left out and a weight of 2 the sample given twice. With
    ``early_stopping`` the held-out samples keep their weights. A fit with weights
    trains with the reference loop (the compiled step takes none).

    With a single class in ``y`` the network has one output and always predicts that
    class (``predict_proba`` is a column of ones), as scikit-learn's conventions ask.
    Binary problems use two softmax outputs.

    With ``loss='hinge'`` (the lecture notes' loss/activation table pairs the hinge
    loss with a linear output for two classes), the network has one linear output s,
    trained with ``nn.HingeLoss`` on labels -1 (``classes_[0]``) and +1
    (``classes_[1]``); ``predict`` gives ``classes_[1]`` where s > 0, as scikit-learn's
    linear classifiers do; ``decision_function`` returns s. More than two classes are
    refused.

    Shape:
        - X: (n_samples, n_features), any real dtype (converted to ``dtype``).
        - y: (n_samples,) labels.
        - predict: (n_samples,) labels; predict_proba: (n_samples, n_classes).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> y = np.where(X[:, 0] > 0, "right", "left")
    >>> clf = MLPClassifier((8,), learning_rate_init=0.05, max_iter=50, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    >>> clf.classes_.tolist()
    ['left', 'right']
    """

    _LOSSES = ("log_loss", "hinge")

    def _criterion(self) -> CrossEntropyLoss | HingeLoss:
        smoothing = float(check_param(self, "label_smoothing"))
        if self._loss() != "hinge":
            return CrossEntropyLoss(label_smoothing=smoothing)
        if smoothing:
            raise ValueError(
                f"{type(self).__name__}: label_smoothing={smoothing} needs loss='log_loss' "
                "(it smooths the softmax's targets; the hinge loss has labels -1 / +1)"
            )
        return HingeLoss()

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        loss: str | None = None,
        batch_norm: bool = False,
        dropout: float = 0.0,
        init: str = "default",
        solver: str = "adam",
        learning_rate_init: float = 0.001,
        momentum: float = 0.9,
        alpha: float = 0.0001,
        schedule: str = "none",
        max_iter: int = 200,
        batch_size: int | str = "auto",
        shuffle: bool = True,
        tol: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        random_state: Any = None,
        dtype: Any = "float64",
        compiled: bool = True,
        class_weight: Any = None,
        label_smoothing: float = 0.0,
    ) -> None:
        # scikit-learn reads the parameters from this signature: all of them are here.
        super().__init__(
            hidden_layer_sizes,
            activation,
            loss=loss,
            batch_norm=batch_norm,
            dropout=dropout,
            init=init,
            solver=solver,
            learning_rate_init=learning_rate_init,
            momentum=momentum,
            alpha=alpha,
            schedule=schedule,
            max_iter=max_iter,
            batch_size=batch_size,
            shuffle=shuffle,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            random_state=random_state,
            dtype=dtype,
            compiled=compiled,
        )
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

    def _check_params(self) -> None:
        super()._check_params()
        check_param(self, "class_weight")
        check_param(self, "label_smoothing")

    def _sample_weight(
        self, X: np.ndarray, target: np.ndarray, sample_weight: Any, partial: bool
    ) -> np.ndarray | None:
        weight = super()._sample_weight(X, target, sample_weight, partial)
        class_weight = check_param(self, "class_weight")
        if class_weight is None:
            return weight
        if partial and class_weight == "balanced":
            raise ValueError(
                f"{type(self).__name__}.partial_fit: class_weight='balanced' is not "
                "supported, as the class counts of one call are not those of the data; "
                "compute the weights once, e.g. sklearn.utils.class_weight."
                "compute_class_weight('balanced', classes=classes, y=y) on the whole "
                "training set, and pass them as a dict {label: weight}"
            )
        if isinstance(class_weight, dict):
            known = set(self.classes_.tolist())
            unknown = [label for label in class_weight if label not in known]
            if unknown:
                raise ValueError(
                    f"{type(self).__name__}: class_weight names labels that are not "
                    f"classes of y: {unknown}; the classes are {list(self.classes_)}"
                )
        # scikit-learn's LogisticRegression's rule: 'balanced' counts the classes with
        # the sample weights, so that a sample of weight 0 is one left out.
        # The hinge loss trains on labels -1 / +1; the class weights index classes_.
        indices = (target + 1) // 2 if self._loss() == "hinge" else target
        per_class = compute_class_weight(
            class_weight, classes=self.classes_, y=self.classes_[indices], sample_weight=weight
        )
        folded = np.asarray(per_class, dtype=np.float64)[indices]
        return folded if weight is None else weight * folded

    def _n_network_outputs(self) -> int:
        return 1 if self._loss() == "hinge" else len(self.classes_)

    def _validate_targets(self, y: Any, first_call: bool, classes: Any = None) -> np.ndarray:
        where = type(self).__name__
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first_call:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"{where}.partial_fit: expected classes={list(self.classes_)} "
                f"as in the first call, got {list(np.unique(classes))}"
            )
        known = np.isin(y, self.classes_)
        if not known.all():
            raise ValueError(
                f"{where}: expected labels in classes_ {list(self.classes_)}, "
                f"got {list(np.unique(y[~known]))}"
            )
        indices = np.searchsorted(self.classes_, y).astype(np.int64)
        if self._loss() != "hinge":
            return indices
        if len(self.classes_) > 2:
            raise ValueError(
                f"{where}: Only binary classification is supported. loss='hinge' is the "
                f"notes' two-class hinge loss; got {len(self.classes_)} classes (use "
                "loss='log_loss')"
            )
        return 2 * indices - 1  # classes_[0] -> -1, classes_[1] -> +1

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Train a new network on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample's loss (>= 0; see the Notes); times ``class_weight``.

        Returns
        -------
        MLPClassifier
            ``self``, fitted.
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """Train for one epoch on (X, y), continuing the last ``fit`` / ``partial_fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,)
            Class labels, all in ``classes``.
        classes : array-like of shape (n_classes,), optional
            Every class of the problem. Required on the first call (a batch need not
            contain every class), ignored or checked afterwards.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample's loss (>= 0); times ``class_weight`` (a dict).

        Returns
        -------
        MLPClassifier
            ``self``.
        """
        if not hasattr(self, "model_") and classes is None:
            raise ValueError(
                f"{type(self).__name__}.partial_fit: classes must be passed "
                "on the first call to partial_fit"
            )
        return self._partial_fit(X, y, classes, sample_weight)

    @available_if(_gives_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), rows summing to 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Softmax of the network's output, columns in the order of ``classes_``.
        """
        return softmax(self._forward(X), axis=1)

    @available_if(_gives_probabilities)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`, shape (n_samples, n_classes) (log-sum-exp)."""
        from mytorch.nn.functional import log_softmax

        return log_softmax(self._forward(X), axis=1)

    @available_if(_gives_scores)
    def decision_function(self, X: Any) -> np.ndarray:
        """The network's score s for each sample, shape (n_samples,) (``loss='hinge'``).

        s > 0 predicts ``classes_[1]``; s <= 0 ``classes_[0]``.
        """
        return self._forward(X)[:, 0]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape (n_samples,), taken from ``classes_``."""
        output = self._forward(X)  # first: it raises NotFittedError before fit
        if self.loss != "hinge":
            return self.classes_[np.argmax(output, axis=1)]
        positive = (output[:, 0] > 0) & (len(self.classes_) > 1)
        return self.classes_[positive.astype(np.int64)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.loss != "hinge"
        tags.classifier_tags.multi_label = False
        return tags
