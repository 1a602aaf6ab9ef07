"""scikit-learn estimators built on MyTorch: ``MLPClassifier`` and ``MLPRegressor``.

They are plain scikit-learn estimators (``fit`` / ``partial_fit`` / ``predict`` /
``score``, parameters set in ``__init__`` only, validated in ``fit``), so they work in a
``Pipeline``, ``GridSearchCV`` or ``cross_val_score`` and pass
``sklearn.utils.estimator_checks.check_estimator``. Underneath is MyTorch's one core:
the model comes from :func:`mytorch.workflows.build.build_model`, the optimiser and
schedule from :func:`~mytorch.workflows.build.build_optimizer` /
:func:`~mytorch.workflows.build.build_scheduler`, and the epochs run in
:class:`mytorch.trainer.Trainer` (``partial_fit`` is ``Trainer.fit(epochs=1)``).

Needs scikit-learn (``pip install mytorch[sklearn]``); ``import mytorch`` does not
import this module.

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from mytorch.integrations.sklearn import MLPClassifier
>>> X, y = load_digits(return_X_y=True)
>>> mlp = MLPClassifier((32,), learning_rate_init=0.01, max_iter=20, random_state=0)
>>> clf = make_pipeline(StandardScaler(), mlp)
>>> clf.fit(X, y).score(X, y) > 0.95
True
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from mytorch.config import ACTIVATIONS, INITS, OPTIMIZERS, SCHEDULES, TrainConfig
from mytorch.data import train_val_split
from mytorch.nn.functional import softmax
from mytorch.nn.loss import CrossEntropyLoss, MSELoss
from mytorch.trainer import EarlyStopping, History, Trainer
from mytorch.validation import check_number
from mytorch.workflows.build import build_model, build_optimizer, build_scheduler

__all__ = ["MLPClassifier", "MLPRegressor"]

#: scikit-learn's name for the sigmoid, accepted as an alias.
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}
#: Rows per forward pass in predict (bounds the memory of the activations).
_PREDICT_CHUNK = 4096

_PARAMETERS_DOC = """
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer; ``()`` gives a linear model.
    activation : str, default='relu'
        Hidden activation: one of 'relu', 'sigmoid' (alias 'logistic'), 'tanh',
        'leaky_relu', 'elu', 'gelu', 'softplus', 'identity'.
    batch_norm : bool, default=False
        ``BatchNorm1d`` after every hidden ``Linear`` (training batches then need 2 or
        more samples).
    dropout : float, default=0.0
        Dropout probability after every hidden activation, in [0, 1).
    init : str, default='default'
        Weight initialisation: 'default' (PyTorch's), 'course', 'notes', 'xavier' or
        'kaiming' (see ``mytorch train --help``).
    solver : str, default='adam'
        The optimiser: 'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad' or 'adadelta'.
    learning_rate_init : float, default=0.001
        The (initial) learning rate.
    momentum : float, default=0.9
        Momentum of 'sgd' and 'rmsprop'.
    alpha : float, default=0.0001
        L2 penalty, passed to the optimiser as ``weight_decay`` (all parameters).
    schedule : str, default='none'
        Learning-rate schedule stepped once per epoch: 'none', 'step', 'exponential',
        'cosine', 'plateau', 'inverse-time' or 'warmup'.
    max_iter : int, default=200
        Maximum number of epochs of ``fit``.
    batch_size : int or 'auto', default='auto'
        Mini-batch size; 'auto' is ``min(200, n_samples)``. With ``batch_norm`` it grows
        by one where the last batch would hold a single sample.
    shuffle : bool, default=True
        Reshuffle the training data every epoch.
    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for the
        classifier), stop when its loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs and restore the best weights. Without it, ``fit``
        stops when the *training* loss stops improving in the same way (as
        scikit-learn's MLP does).
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=10
        Patience, in epochs, of the stopping rule.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the dropout masks, the shuffling and the validation
        split: an int gives the same model on every ``fit``.
    dtype : {'float64', 'float32'}, default='float64'
        Precision of the network; ``X`` is converted to it.
"""

_ATTRIBUTES_DOC = """
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names (a DataFrame).
    model_ : mytorch.nn.Sequential
        The trained network, in evaluation mode (``mytorch.save`` and
        ``mytorch.onnx.export`` accept it).
    history_ : mytorch.trainer.History
        Per-epoch training (and validation) loss, learning rate and time.
    loss_curve_ : list of float
        Mean training loss of each epoch (no L2 term).
    validation_loss_curve_ : list of float or None
        Validation loss of each epoch, with ``early_stopping``.
    best_loss_ : float
        Smallest value of ``loss_curve_``.
    best_validation_loss_ : float or None
        Smallest validation loss, with ``early_stopping``.
    n_iter_ : int
        Number of epochs run (all ``fit`` / ``partial_fit`` calls since the last ``fit``).
"""


def _check_choice(value: Any, choices: Any, where: str, name: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{where}: expected {name} to be one of {sorted(choices)}, got {value!r}")
    return value


def _check_int(value: Any, where: str, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{where}: expected {name} to be an int >= {low}, got {value!r}")
    return int(value)


def _check_real(
    value: Any,
    where: str,
    name: str,
    low: float,
    high: float = np.inf,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    # check_number's test, with scikit-learn's convention that a bad parameter of any
    # kind is a ValueError.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{where}: expected {name} to be a real number, got {value!r}")
    return check_number(
        float(value),
        where,
        name,
        low=low,
        high=high,
        low_inclusive=low_inclusive,
        high_inclusive=high_inclusive,
    )


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, training, prediction."""

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
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.init = init
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.alpha = alpha
        self.schedule = schedule
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.dtype = dtype

    # ------------------------------------------------------------------ to override
    def _criterion(self) -> Any:
        raise NotImplementedError

    def _validate_targets(self, y: Any, first_call: bool, classes: Any = None) -> np.ndarray:
        """Return the training targets in the form the criterion takes."""
        raise NotImplementedError

    # ------------------------------------------------------------------ parameters
    def _dtype(self) -> np.dtype:
        where = type(self).__name__
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"{where}: expected dtype 'float32' or 'float64', got {self.dtype!r}")
        return dtype

    def _check_params(self) -> None:
        """Validate every parameter; raise ``ValueError`` naming the first bad one."""
        where = type(self).__name__
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(
            isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in sizes
        ):
            raise ValueError(
                f"{where}: expected hidden_layer_sizes to be positive ints, "
                f"got {self.hidden_layer_sizes!r}"
            )
        activation = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        _check_choice(activation, [*ACTIVATIONS, *_ACTIVATION_ALIASES], where, "activation")
        _check_choice(self.solver, OPTIMIZERS, where, "solver")
        _check_choice(self.schedule, SCHEDULES, where, "schedule")
        _check_choice(self.init, INITS, where, "init")
        for name in ("batch_norm", "shuffle", "early_stopping"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(
                    f"{where}: expected {name} to be True or False, got {getattr(self, name)!r}"
                )
        _check_real(self.dropout, where, "dropout", 0.0, 1.0, high_inclusive=False)
        _check_real(self.learning_rate_init, where, "learning_rate_init", 0.0, low_inclusive=False)
        _check_real(self.momentum, where, "momentum", 0.0)
        _check_real(self.alpha, where, "alpha", 0.0)
        _check_real(self.tol, where, "tol", 0.0)
        _check_real(
            self.validation_fraction,
            where,
            "validation_fraction",
            0.0,
            1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        _check_int(self.max_iter, where, "max_iter", 1)
        _check_int(self.n_iter_no_change, where, "n_iter_no_change", 1)
        if self.batch_size != "auto":
            _check_int(self.batch_size, where, "batch_size", 1)
        self._dtype()

    def _config(self, seed: int) -> TrainConfig:
        """The parameters as the command line's :class:`~mytorch.config.TrainConfig`."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else sizes
        return TrainConfig(
            hidden=[int(h) for h in sizes],
            activation=_ACTIVATION_ALIASES.get(self.activation, self.activation),
            batch_norm=bool(self.batch_norm),
            dropout=float(self.dropout),
            init=self.init,
            optimizer=self.solver,
            lr=float(self.learning_rate_init),
            momentum=float(self.momentum),
            weight_decay=float(self.alpha),
            schedule=self.schedule,
            epochs=int(self.max_iter),
            seed=seed,
            dtype=self._dtype().name,
        ).validate()

    def _batch_size(self, n_samples: int) -> int:
        size = min(200, n_samples) if self.batch_size == "auto" else int(self.batch_size)
        if self.batch_norm and n_samples > 1 and n_samples % size == 1:
            # A last batch of one sample has no batch statistics to normalise with.
            size += 1
        return size

    # ------------------------------------------------------------------ training
    def _start(self, n_features: int, n_outputs: int) -> np.random.Generator:
        """Build a new network, optimiser, schedule and trainer; return the data's rng."""
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        config = self._config(seed)
        streams = np.random.SeedSequence(seed).spawn(2)
        self.model_ = build_model(config, n_features, n_outputs)
        optimizer = build_optimizer(config, list(self.model_.parameters()))
        self._trainer = Trainer(
            self.model_,
            self._criterion(),
            optimizer,
            scheduler=build_scheduler(config, optimizer),
            rng=np.random.default_rng(streams[0]),
        )
        return np.random.default_rng(streams[1])

    def _record(self) -> None:
        history: History = self._trainer.history
        self.history_ = history
        self.loss_curve_ = list(history.train_loss)
        self.n_iter_ = len(history)
        self.best_loss_ = float(np.min(history.train_loss))
        validation = [v for v in history.val_loss if not np.isnan(v)]
        self.validation_loss_curve_ = list(history.val_loss) if validation else None
        self.best_validation_loss_ = float(np.min(validation)) if validation else None

    def _validate_inputs(self, X: Any, y: Any = "no_validation", reset: bool = True) -> Any:
        dtype = self._dtype()
        if isinstance(y, str):
            return validate_data(self, X, reset=reset, dtype=dtype)
        return validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=dtype,
            multi_output=True,
            y_numeric=isinstance(self, RegressorMixin),
        )

    def _fit(self, X: Any, y: Any) -> _BaseMLP:
        self._check_params()
        X, y = self._validate_inputs(X, y, reset=True)
        target = self._validate_targets(y, first_call=True)
        rng = self._start(X.shape[1], self._n_network_outputs())
        val_data = None
        if self.early_stopping:
            try:
                X, target, X_val, y_val = train_val_split(
                    X,
                    target,
                    val_fraction=self.validation_fraction,
                    rng=rng,
                    stratify=isinstance(self, ClassifierMixin),
                )
            except ValueError as error:
                raise ValueError(
                    f"{type(self).__name__}: early_stopping cannot hold out "
                    f"validation_fraction={self.validation_fraction} of n_samples = {len(X)} "
                    f"({error})"
                ) from None
            val_data = (X_val, y_val)
            monitor, restore = "val_loss", True
        else:
            monitor, restore = "train_loss", False
        self._trainer.callbacks = [
            EarlyStopping(
                monitor,
                patience=int(self.n_iter_no_change),
                min_delta=float(self.tol),
                restore_best_weights=restore,
            )
        ]
        self._trainer.fit(
            X,
            target,
            epochs=int(self.max_iter),
            batch_size=self._batch_size(len(X)),
            val_data=val_data,
            shuffle=bool(self.shuffle),
        )
        self._record()
        return self

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> _BaseMLP:
        first_call = not hasattr(self, "model_")
        if first_call:
            self._check_params()
        X, y = self._validate_inputs(X, y, reset=first_call)
        target = self._validate_targets(y, first_call=first_call, classes=classes)
        if first_call:
            self._start(X.shape[1], self._n_network_outputs())
        # One epoch over this data, no stopping rule: the caller decides when to stop.
        self._trainer.callbacks = []
        self._trainer.fit(
            X, target, epochs=1, batch_size=self._batch_size(len(X)), shuffle=bool(self.shuffle)
        )
        self._record()
        return self

    # ------------------------------------------------------------------ prediction
    def _forward(self, X: Any) -> np.ndarray:
        """The network's output for ``X``, shape (n_samples, n_network_outputs)."""
        check_is_fitted(self)
        X = self._validate_inputs(X, reset=False)
        self.model_.eval()
        chunks = [
            self.model_(X[start : start + _PREDICT_CHUNK])
            for start in range(0, len(X), _PREDICT_CHUNK)
        ]
        return np.concatenate(chunks)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained with MyTorch.

    A softmax output over the classes and the cross-entropy loss
    (``nn.CrossEntropyLoss``); hidden layers as in ``mytorch train``. Class labels can
    be any sortable values (ints, strings, ...): ``classes_`` maps the network's
    outputs back to them.

    Parameters
    ----------{_PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.{_ATTRIBUTES_DOC}
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

    def _criterion(self) -> CrossEntropyLoss:
        return CrossEntropyLoss()

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


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained with MyTorch.

    A linear output layer and the mean squared error (``nn.MSELoss``); hidden layers
    as in ``mytorch train``. Supports several targets at once.

    Parameters
    ----------{_PARAMETERS_DOC}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets.{_ATTRIBUTES_DOC}
    Notes
    -----
    The loss is the plain mean of squared errors over samples and targets
    (scikit-learn's own ``MLPRegressor`` reports half of it). Scale ``y`` (e.g. with
    ``TransformedTargetRegressor``) when its values are large.

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

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train a new network on (X, y) for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        MLPRegressor
            ``self``, fitted.
        """
        return self._fit(X, y)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train for one epoch on (X, y), continuing the last ``fit`` / ``partial_fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, with as many outputs as in the first call.

        Returns
        -------
        MLPRegressor
            ``self``.
        """
        return self._partial_fit(X, y)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) if ``y`` was 1-D in ``fit``, else
        (n_samples, n_outputs)."""
        output = self._forward(X)
        return output[:, 0] if self._y_one_d else output

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
