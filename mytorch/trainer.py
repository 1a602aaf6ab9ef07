"""The training loop: batches -> forward -> loss -> backward -> optimiser step -> metrics.

``Trainer`` runs epochs of mini-batch training over arrays and records a
:class:`History` of per-epoch training and validation loss and error. Callbacks
(:class:`EarlyStopping`, or your own) see each epoch's numbers and may stop
training. The course's ``get_training_stats`` is this same loop with the course
MLP's own step (see ``hw1/hw1.py``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mytorch.callbacks import Callback, EarlyStopping, History
from mytorch.compiled.blas_threads import check_setting
from mytorch.compiled_training import CompiledTraining
from mytorch.data import DataLoader
from mytorch.divergence import DivergenceGuards, TrainingDivergedError
from mytorch.nn.loss import Loss
from mytorch.nn.loss.base import count_errors_of, loss_counts_errors
from mytorch.sample_weight import SampleWeighting, weighted_loss
from mytorch.underflow import quiet_underflow
from mytorch.validation import NonFiniteError, check_number, check_positive_int, check_rng

__all__ = ["Callback", "EarlyStopping", "History", "Trainer", "TrainingDivergedError", "fit"]


class Trainer(CompiledTraining, DivergenceGuards, SampleWeighting):
    """Mini-batch training of a model with a loss and an optimiser.

    Parameters
    ----------
    model : Module
        Anything with ``__call__``, ``backward(grad)``, ``train()``, ``eval()``,
        ``state_dict()`` and ``load_state_dict()``.
    criterion : Loss
        The loss, e.g. ``nn.CrossEntropyLoss()``.
    optimizer : Optimizer
        E.g. ``optim.SGD(model.parameters(), lr=0.1)``.
    scheduler : optional
        An ``optim.lr_scheduler`` object, stepped once per epoch
        (``ReduceLROnPlateau`` gets the validation loss, or the training loss).
    callbacks : sequence of Callback
        E.g. ``[EarlyStopping(patience=3)]``.
    input_noise : float
        Standard deviation of Gaussian noise added to each training batch's inputs
        (the notes' input-noise regulariser); 0 disables it.
    augment : callable or None
        ``augment(batch, rng)`` returns a changed copy of each training batch's inputs
        (``mytorch.augmentation``: shifts, flips, erasing), drawn from ``rng`` (the
        trainer's); never applied to validation data. Applied before ``input_noise``.
    schedule_interval : {'epoch', 'step'}
        Step the scheduler after every epoch (PyTorch's usual place) or after every
        optimiser step (the notes' eta(t), t counting updates).
    max_grad_norm : float or None
        Clip the global gradient norm to this value before each step.
    rng : numpy.random.Generator or int or None
        Seeds shuffling and input noise: a seed gives the same run every time.
    compiled : bool or 'auto'
        Train with the compiled step (:func:`mytorch.compile_step`) when the run
        qualifies ('auto', the default), never (False), or always (True: a run that does
        not qualify raises ``ValueError`` naming why). ``compiled_status`` says what
        ``fit`` did.
    blas_threads : {'as set', 'fastest'} or int
        The compiled step's BLAS threads (:func:`mytorch.compile_step`): as set (the
        default: a seeded run repeats bit for bit), at most this many, or the faster of
        the BLAS's threads and one, timed on the first steps.

    Notes
    -----
    The compiled step gives the reference loop's results (batch by batch the same bits;
    a whole compiled epoch within about 1e-15 in float64). Which options make a run train
    batch by batch, whole epochs compiled, or with the reference loop (and why) is the
    table in ``mytorch/compiled_training.py``.

    Examples
    --------
    >>> from mytorch import nn, optim
    >>> X = np.random.default_rng(0).normal(size=(64, 4)); y = (X[:, 0] > 0).astype(int)
    >>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1))
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(),
    ...                   optim.SGD(model.parameters(), lr=0.5), rng=0)
    >>> history = trainer.fit(X, y, epochs=20, batch_size=16)
    >>> history.train_error[-1] < 0.1
    True
    """

    def __init__(
        self,
        model: Any,
        criterion: Any,
        optimizer: Any = None,
        *,
        scheduler: Any = None,
        callbacks: Any = (),
        input_noise: float = 0.0,
        augment: Any = None,
        schedule_interval: str = "epoch",
        max_grad_norm: float | None = None,
        rng: np.random.Generator | int | None = None,
        compiled: bool | str = "auto",
        blas_threads: str | int = "as set",
    ) -> None:
        if not (callable(model) and callable(getattr(model, "backward", None))):
            raise TypeError(
                f"Trainer: expected model to be a Module (callable, with backward()), got {model!r}"
            )
        if not callable(criterion):
            raise TypeError(
                f"Trainer: expected criterion to be a loss such as "
                f"nn.CrossEntropyLoss(), got {criterion!r}"
            )
        if optimizer is not None and not all(
            callable(getattr(optimizer, name, None)) for name in ("step", "zero_grad")
        ):
            raise TypeError(
                f"Trainer: expected optimizer to have step() and zero_grad() "
                f"(e.g. optim.SGD(model.parameters(), lr=0.1)), got {optimizer!r}"
            )
        self.model = model
        self.criterion = criterion
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.callbacks = list(callbacks)
        self.input_noise = check_number(input_noise, "Trainer", "input_noise", low=0)
        if augment is not None and not callable(augment):
            raise TypeError(
                f"Trainer: expected augment to be a callable (batch, rng) -> batch, "
                f"e.g. mytorch.augmentation.RandomTranslate(2), got {augment!r}"
            )
        self.augment = augment
        if schedule_interval not in ("epoch", "step"):
            raise ValueError(
                f"Trainer: expected schedule_interval 'epoch' or 'step', got {schedule_interval!r}"
            )
        if schedule_interval == "step" and getattr(scheduler, "monitors_metric", False):
            raise ValueError(
                "Trainer: a scheduler that monitors a metric (ReduceLROnPlateau) steps once "
                "per epoch; use schedule_interval='epoch'"
            )
        self.schedule_interval = schedule_interval
        self.max_grad_norm = (
            None
            if max_grad_norm is None
            else check_number(max_grad_norm, "Trainer", "max_grad_norm", low=0, low_inclusive=False)
        )
        self.rng = check_rng(rng, "Trainer")
        if not (compiled is True or compiled is False or compiled == "auto"):
            raise ValueError(
                f"Trainer: expected compiled to be True, False or 'auto', got {compiled!r}"
            )
        self.compiled = compiled
        self.blas_threads = check_setting(blas_threads, "Trainer")
        #: What the last ``fit`` trained with: "compiled (numpy)", "compiled (numba, whole
        #: epochs)" or "reference loop: <the reason>".
        self.compiled_status: str | None = None
        self._step: Any = None
        self.history = History()
        self.stop_training = False
        self.epoch = 0
        self.step_count = 0
        self._pending_callback_states: list[tuple[Callback, Any]] | None = None

    # ------------------------------------------------------------ one batch
    def training_step(
        self, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """Train on one batch; return the output and the sum of per-sample losses
        (with ``weight``, shape (B,): the loss is the weighted mean, the sum sum_i w_i l_i)."""
        if self.optimizer is None:
            raise TypeError(
                "Trainer: no optimizer was given; pass one, e.g. "
                "optim.SGD(model.parameters(), lr=0.1)"
            )
        self.optimizer.zero_grad()
        try:
            output = self.model(x)
            if weight is None:
                loss, grad = self.criterion(output, y), self.criterion.backward()
            else:
                loss, grad = weighted_loss(self.criterion, output, y, weight)
            self.check_finite_loss(loss)
            if getattr(self.model, "skips_input_grad", False):
                # The gradient w.r.t. the data is never used: skip its matrix product.
                self.model.backward(grad, need_input_grad=False)
            else:
                self.model.backward(grad)
        except NonFiniteError as error:
            self.raise_diverged(error, x)
        self.check_finite_grads()
        if self.max_grad_norm is not None:
            from mytorch.nn.utils.clip_grad import clip_grad_norm_

            clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.optimizer.step()
        return output, (self.loss_sum(loss, len(x)) if weight is None else loss)

    def evaluation_step(
        self, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """Evaluate one batch; return the output and the sum of (weighted) per-sample losses."""
        try:
            output = self.model(x)
            if weight is not None:
                return output, weighted_loss(self.criterion, output, y, weight, backward=False)[0]
            return output, self.loss_sum(self.criterion(output, y), len(x))
        except NonFiniteError as error:
            self.raise_diverged(error, x)

    def set_training(self, training: bool) -> None:
        """Put the model in training or evaluation mode."""
        if training:
            self.model.train()
        else:
            self.model.eval()

    def loss_sum(self, loss: Any, batch_size: int) -> float:
        """Turn a criterion's value into the sum of per-sample losses."""
        reduction = getattr(self.criterion, "reduction", "mean")
        if reduction == "none" or np.ndim(loss) > 0:
            return float(np.sum(loss))
        if reduction == "sum":
            return float(loss)
        return float(loss) * batch_size

    # ------------------------------------------------------------ state for callbacks
    def snapshot(self) -> dict[str, np.ndarray]:
        """A copy of the model's parameters and buffers."""
        return {k: np.array(v, copy=True) for k, v in self.model.state_dict().items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load a :meth:`snapshot` back into the model."""
        self.model.load_state_dict(state)

    def callback_states(self) -> list[dict[str, Any]]:
        """The state of every callback that keeps one, for a checkpoint.

        Returns
        -------
        list of dict
            ``{"type": class name, "state": callback.state_dict()}`` per callback with a
            non-empty state, in the order of ``self.callbacks``.
        """
        states = []
        for callback in self.callbacks:
            state = callback.state_dict() if hasattr(callback, "state_dict") else {}
            if state:
                states.append({"type": type(callback).__name__, "state": state})
        return states

    def load_callback_states(self, states: list[dict[str, Any]]) -> None:
        """Give the callbacks back their :meth:`callback_states` (resuming a run).

        They are applied at the start of the next :meth:`fit` or :meth:`finish`, right
        after the callbacks' ``on_train_begin`` (which starts their state afresh). The
        k-th saved state of a type goes to the k-th callback of that type; a callback
        with no saved state (a checkpoint of an older release) keeps its fresh state.

        Raises
        ------
        ValueError
            If a saved state has no callback of its type to go to.
        """
        available: dict[str, list[Any]] = {}
        for callback in self.callbacks:
            available.setdefault(type(callback).__name__, []).append(callback)
        pending = []
        for entry in states:
            kind = entry.get("type") if isinstance(entry, dict) else None
            if not available.get(kind):
                present = [type(callback).__name__ for callback in self.callbacks]
                raise ValueError(
                    f"Trainer.load_callback_states: the saved state of a {kind} callback "
                    f"has no callback to go to; the trainer has {present}"
                )
            pending.append((available[kind].pop(0), entry["state"]))
        self._pending_callback_states = pending

    def _begin_callbacks(self) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(self)
        pending, self._pending_callback_states = self._pending_callback_states, None
        for callback, state in pending or ():
            callback.load_state_dict(state)

    def _end_callbacks(self) -> None:
        for callback in self.callbacks:
            callback.on_train_end(self)
        self.set_training(False)

    def finish(self) -> History:
        """End a run that has no epoch left to train, as :meth:`fit` ends one.

        A run resumed from the checkpoint of its last epoch, or of the epoch at which a
        callback stopped it, trains no more but still ends: the callbacks get their
        saved states back and their ``on_train_end`` (early stopping restores the best
        weights), and the model is left in evaluation mode.

        Returns
        -------
        History
            ``self.history``.
        """
        self._begin_callbacks()
        self._end_callbacks()
        return self.history

    def current_lr(self) -> float:
        """Learning rate of the first parameter group (NaN if unknown)."""
        groups = getattr(self.optimizer, "param_groups", None)
        if groups:
            return float(groups[0]["lr"])
        return float(getattr(self.model, "lr", np.nan))

    # ------------------------------------------------------------ loops
    @quiet_underflow.wrap
    def evaluate(
        self, X: np.ndarray, y: np.ndarray, batch_size: int = 256, sample_weight: Any = None
    ) -> tuple[float, float]:
        """Return (mean loss, error rate) of the model on (X, y) in evaluation mode
        (weighted means with ``sample_weight``, shape (N,), as scikit-learn's scores)."""
        self.set_training(False)
        loss_total, errors = 0.0, 0.0
        classify = loss_counts_errors(self.criterion, y)
        loader = DataLoader(X, y, batch_size=batch_size)
        batches, total = self.weighted_batches(loader, sample_weight, "evaluation_step")
        for xb, yb, *weight in batches:
            output, loss = self.evaluation_step(xb, yb, *weight)
            loss_total += loss
            if classify:
                errors += count_errors_of(self.criterion, output, yb, *weight)
        return loss_total / total, (errors / total if classify else np.nan)

    @quiet_underflow.wrap
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int,
        batch_size: int = 32,
        val_data: tuple[np.ndarray, ...] | None = None,
        shuffle: bool = True,
        shuffle_rng: Any = None,
        progress: Any = None,
        sample_weight: np.ndarray | None = None,
    ) -> History:
        """Train for ``epochs`` passes over (X, y); return the :class:`History`.

        Parameters
        ----------
        X : numpy.ndarray
            Inputs (N, features) of the model's dtype.
        y : numpy.ndarray
            Targets: (N,) class indices, or what the criterion takes.
        epochs : int
            Number of epochs to run (continues from ``self.epoch`` when called again).
        batch_size : int
            Mini-batch size (1: the notes' stochastic gradient descent; N: full batch).
        val_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
            Evaluated after every epoch (weighted by ``sample_weight_val`` if given).
        shuffle : bool
            Reshuffle the training data every epoch.
        shuffle_rng : optional
            Overrides ``rng`` for shuffling only; anything with ``permutation(n)``
            (the course passes ``np.random`` to follow the handout).
        progress : callable, optional
            ``progress(loader)`` wraps the batch iterator (e.g. a tqdm bar); it may
            have ``set_postfix(**numbers)``.
        sample_weight : numpy.ndarray, optional
            A weight >= 0 per sample, shape (N,): each batch's loss is the weighted mean
            (``mytorch.sample_weight``), and so are the history's. The reference loop.
        """
        epochs = check_positive_int(epochs, "Trainer.fit", "epochs")
        validation = self.check_val_data(val_data)
        loader = DataLoader(
            X,
            y,
            batch_size=batch_size,
            shuffle=shuffle,
            rng=self.rng if shuffle_rng is None else shuffle_rng,
        )
        classify = loss_counts_errors(self.criterion, y)
        batches, _ = self.weighted_batches(loader, sample_weight, "training_step")
        step, whole_epochs = self._compiled_step(X, y, progress, shuffle_rng, sample_weight)
        self.stop_training = False
        self._begin_callbacks()
        for _ in range(epochs):
            self.epoch += 1
            started = time.perf_counter()
            lr = self.current_lr()
            self.set_training(True)
            if whole_epochs:
                loss_total, errors, seen = self._compiled_epoch(step, loader)
            else:
                loss_total, errors, seen = self._batches(step, batches, classify, progress)
            logs = {
                "train_loss": loss_total / seen,
                "train_error": errors / seen if classify else np.nan,
                "lr": lr,
            }
            if validation is not None:
                logs["val_loss"], logs["val_error"] = self._validate(validation)
            logs["seconds"] = time.perf_counter() - started
            self.history.append(logs)
            if self.schedule_interval == "epoch":
                self._step_scheduler(logs)
            for callback in self.callbacks:
                callback.on_epoch_end(self, self.epoch, logs)
            if self.stop_training:
                self.history.stopped_epoch = self.epoch
                break
        self._end_callbacks()
        return self.history

    def _validate(self, val_data: tuple[Any, Any, Any]) -> tuple[float, float]:
        """The epoch's (loss, error) on ``(X, y, sample weight or None)``, inside the
        validation hooks."""
        X_val, y_val, weight_val = val_data
        for callback in self.callbacks:
            callback.on_validation_begin(self)
        try:
            return self.evaluate(X_val, y_val, sample_weight=weight_val)
        finally:
            for callback in reversed(self.callbacks):
                callback.on_validation_end(self)

    def _step_scheduler(self, logs: dict[str, float]) -> None:
        if self.scheduler is None:
            return
        if getattr(self.scheduler, "monitors_metric", False):  # ReduceLROnPlateau
            metric = logs.get("val_loss", np.nan)
            self.scheduler.step(logs["train_loss"] if np.isnan(metric) else metric)
        else:
            self.scheduler.step()

    # ------------------------------------------------------------ the epoch's batches
    def _batches(
        self, step: Any, loader: Any, classify: bool, progress: Any
    ) -> tuple[float, float, float]:
        """Train on every batch of ``loader``; return (loss sum, errors, samples), each
        weighted when the batches carry sample weights (a third element)."""
        loss_total, errors, seen = 0.0, 0.0, 0.0
        batches = progress(loader) if progress is not None else loader
        for xb, yb, *weight in batches:
            if weight and not weight[0].any():
                continue  # every sample of the batch left out: no batch, no update
            if self.augment is not None:
                xb = self.augment(xb, self.rng)
            if self.input_noise:
                xb = xb + self.rng.normal(0.0, self.input_noise, xb.shape).astype(xb.dtype)
            self.step_count += 1
            if step is None:
                output, loss = self.training_step(xb, yb, *weight)
            else:
                output, loss = self._compiled_training_step(step, xb, yb)
            loss_total += loss
            seen += float(weight[0].sum()) if weight else len(xb)
            if classify:
                errors += count_errors_of(self.criterion, output, yb, *weight)
            if self.scheduler is not None and self.schedule_interval == "step":
                self.scheduler.step()
            for callback in self.callbacks:
                callback.on_step_end(self, self.step_count)
            if hasattr(batches, "set_postfix"):
                postfix = {"loss": f"{loss_total / seen:.4f}"}
                if classify:
                    postfix["acc"] = f"{1 - errors / seen:.4f}"
                batches.set_postfix(postfix, refresh=False)
        return loss_total, errors, seen


def fit(
    model: Any,
    criterion: Loss,
    optimizer: Any,
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    epochs: int,
    batch_size: int = 32,
    **trainer_options: Any,
) -> History:
    """Train ``model`` on ``train_data`` = (X, y); a one-call form of :class:`Trainer`.

    ``trainer_options`` go to ``Trainer`` (scheduler, callbacks, input_noise,
    max_grad_norm, rng). Returns the :class:`History`.
    """
    trainer = Trainer(model, criterion, optimizer, **trainer_options)
    return trainer.fit(*train_data, epochs=epochs, batch_size=batch_size, val_data=val_data)
