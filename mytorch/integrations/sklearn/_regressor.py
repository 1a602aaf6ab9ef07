"""``MLPRegressor``: a linear output, trained with the mean squared error."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from mytorch.integrations.sklearn._base import ATTRIBUTES_DOC, PARAMETERS_DOC, BaseMLP
from mytorch.nn.loss import MSELoss

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained with MyTorch.

    A linear output layer and the mean squared error (``nn.MSELoss``); hidden layers
    as in ``mytorch train``. Supports several targets at once.

    Parameters
    ----------{PARAMETERS_DOC}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets.{ATTRIBUTES_DOC}
    Notes
    -----
    The loss is the plain mean of squared errors over samples and targets
    (scikit-learn's own ``MLPRegressor`` reports half of it). Scale ``y`` (e.g. with
    ``TransformedTargetRegressor``) when its values are large.

    ``sample_weight`` (of ``fit``, ``partial_fit`` and ``score``) means what it means in
    scikit-learn: each mini-batch's loss is the weighted mean sum_i w_i l_i / sum_i w_i
    of the samples' mean squared errors, so that in full-batch training a weight of 0 is
    the sample left out and a weight of 2 the sample given twice. With
    ``early_stopping`` the held-out samples keep their weights. A fit with weights
    trains with the reference loop (the compiled step takes none).

    Shape:
        - X: (n_samples, n_features). y: (n_samples,) or (n_samples, n_outputs).
        - predict: the shape of ``y`` in ``fit``, in ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).uniform(-1, 1, size=(256, 1))
    >>> reg = MLPRegressor((16,), activation="tanh", learning_rate_init=0.02,
    ...                    max_iter=200, random_state=0)
    >>> reg.fit(X, X[:, 0] ** 2).score(X, X[:, 0] ** 2) > 0.9
    True
    """

    _LOSSES = ("squared_error",)

    def _criterion(self) -> MSELoss:
        return MSELoss()

    def _n_network_outputs(self) -> int:
        return self.n_outputs_

    def _validate_targets(self, y: Any, first_call: bool, classes: Any = None) -> np.ndarray:
        where = type(self).__name__
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: expected numeric targets y, got dtype {y.dtype}"
                ) from None
        if y.ndim not in (1, 2):
            raise ValueError(
                f"{where}: expected y of shape (n_samples,) or (n_samples, "
                f"n_outputs), got {y.shape}"
            )
        one_d = y.ndim == 1
        target = (y.reshape(-1, 1) if one_d else y).astype(self._dtype())
        if first_call:
            self.n_outputs_ = target.shape[1]
            self._y_one_d = one_d
        elif target.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{where}.partial_fit: expected y with {self.n_outputs_} "
                f"outputs as in the first call, got {target.shape[1]}"
            )
        return target

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train a new network on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample's loss (>= 0; see the Notes).

        Returns
        -------
        MLPRegressor
            ``self``, fitted.
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train for one epoch on (X, y), continuing the last ``fit`` / ``partial_fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, with as many outputs as in the first call.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample's loss (>= 0).

        Returns
        -------
        MLPRegressor
            ``self``.
        """
        return self._partial_fit(X, y, sample_weight=sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) if ``y`` was 1-D in ``fit``, else
        (n_samples, n_outputs)."""
        output = self._forward(X)
        return output[:, 0] if self._y_one_d else output

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
