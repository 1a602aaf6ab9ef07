"""What the classifier and the regressor share: parameters, training, prediction."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from mytorch.config import TrainConfig
from mytorch.data import train_val_split
from mytorch.integrations.sklearn._params import (
    ACTIVATION_ALIASES,
    PARAMETER_CONSTRAINTS,
    check_param,
)
from mytorch.trainer import EarlyStopping, History, Trainer
from mytorch.workflows.build import build_model, build_optimizer, build_scheduler

__all__ = ["ATTRIBUTES_DOC", "PARAMETERS_DOC", "BaseMLP"]

#: Rows per forward pass in predict (bounds the memory of the activations).
_PREDICT_CHUNK = 4096

#: The parameters' part of the estimators' docstrings.
PARAMETERS_DOC = """
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
        Weight initialisation: 'default' (PyTorch's), 'auto' (chosen by the activation,
        as ``mytorch train`` chooses it), 'course', 'notes', 'xavier' or 'kaiming' (see
        ``mytorch train --help``).
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
    compiled : bool, default=True
        Train with MyTorch's compiled step (``mytorch.compile_step``) when the network
        qualifies; False uses the reference loop of module calls. The results are the
        same (to rounding); the compiled step is faster.
"""

#: The attributes shared by both estimators, for their docstrings.
ATTRIBUTES_DOC = """
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


class BaseMLP(BaseEstimator):
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
        compiled: bool = True,
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
        self.compiled = compiled

    # ------------------------------------------------------------------ to override
    def _criterion(self) -> Any:
        raise NotImplementedError

    def _validate_targets(self, y: Any, first_call: bool, classes: Any = None) -> np.ndarray:
        """Return the training targets in the form the criterion takes."""
        raise NotImplementedError

    # ------------------------------------------------------------------ parameters
    def _dtype(self) -> np.dtype:
        return np.dtype(check_param(self, "dtype"))

    def _check_params(self) -> None:
        """Check every parameter; raise ``ValueError`` naming the first bad one."""
        own = self._get_param_names()  # label_smoothing is the classifier's only
        for name in PARAMETER_CONSTRAINTS:
            if name in own:
                check_param(self, name)

    def _config(self, seed: int) -> TrainConfig:
        """The parameters as the command line's :class:`~mytorch.config.TrainConfig`."""
        activation = check_param(self, "activation")
        return TrainConfig(
            hidden=check_param(self, "hidden_layer_sizes"),
            activation=ACTIVATION_ALIASES.get(activation, activation),
            batch_norm=check_param(self, "batch_norm"),
            dropout=float(check_param(self, "dropout")),
            init=check_param(self, "init"),
            optimizer=check_param(self, "solver"),
            lr=float(check_param(self, "learning_rate_init")),
            momentum=float(check_param(self, "momentum")),
            weight_decay=float(check_param(self, "alpha")),
            schedule=check_param(self, "schedule"),
            epochs=check_param(self, "max_iter"),
            seed=seed,
            dtype=check_param(self, "dtype"),
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
            compiled="auto" if self.compiled else False,
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

    def _fit(self, X: Any, y: Any) -> BaseMLP:
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

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> BaseMLP:
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
