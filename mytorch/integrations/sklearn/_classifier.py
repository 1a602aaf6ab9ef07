"""``MLPClassifier``: a softmax over the classes, trained with the cross-entropy."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from mytorch.integrations.sklearn._base import ATTRIBUTES_DOC, PARAMETERS_DOC, BaseMLP
from mytorch.integrations.sklearn._params import check_param
from mytorch.nn.functional import softmax
from mytorch.nn.loss import CrossEntropyLoss

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained with MyTorch.

    A softmax output over the classes and the cross-entropy loss
    (``nn.CrossEntropyLoss``); hidden layers as in ``mytorch train``. Class labels can
    be any sortable values (ints, strings, ...): ``classes_`` maps the network's
    outputs back to them.

    Parameters
    ----------{PARAMETERS_DOC}
    label_smoothing : float, default=0.0
        In [0, 1]: train against targets mixed with the uniform distribution,
        ``(1 - label_smoothing) one_hot + label_smoothing / n_classes``
        (``nn.CrossEntropyLoss(label_smoothing=...)``, PyTorch's); the loss curves are
        of this smoothed cross-entropy.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.{ATTRIBUTES_DOC}
    Notes
    -----
    With a single class in ``y`` the network has one output and always predicts that
    class (``predict_proba`` is a column of ones), as scikit-learn's conventions ask.
    Binary problems use two softmax outputs.

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

    # scikit-learn reads the parameters from the signature: the shared ones are listed
    # again here, with the classifier's own (label_smoothing).
    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
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
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
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
        self.label_smoothing = label_smoothing

    def _criterion(self) -> CrossEntropyLoss:
        return CrossEntropyLoss(label_smoothing=float(check_param(self, "label_smoothing")))

    def _n_network_outputs(self) -> int:
        return len(self.classes_)

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
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train a new network on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        MLPClassifier
            ``self``, fitted.
        """
        return self._fit(X, y)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
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
        return self._partial_fit(X, y, classes)

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

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`, shape (n_samples, n_classes) (log-sum-exp)."""
        from mytorch.nn.functional import log_softmax

        return log_softmax(self._forward(X), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape (n_samples,), taken from ``classes_``."""
        output = self._forward(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(output, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags
