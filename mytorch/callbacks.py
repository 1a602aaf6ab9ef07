"""The training loop's records and hooks: ``History``, ``Callback``, ``EarlyStopping``.

``Trainer`` (``mytorch/trainer.py``) appends one row to its :class:`History` per epoch
and calls every :class:`Callback` at the start, after each step, around each epoch's
validation, after each epoch and at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mytorch.validation import check_number, check_positive_int

#: The ``mytorch.trainer.Trainer`` running the hooks (not imported: it imports this module).
Trainer = Any

__all__ = ["Callback", "EarlyStopping", "History"]


@dataclass
class History:
    """Per-epoch records of a training run (index i is epoch i + 1).

    Attributes
    ----------
    train_loss, train_error : list of float
        Mean loss and error rate over the epoch's training batches (measured while
        training, as the course's ``get_training_stats`` does).
    val_loss, val_error : list of float
        Loss and error rate on the validation data after the epoch (NaN without it).
    lr : list of float
        Learning rate of the first parameter group during the epoch.
    seconds : list of float
        Wall time of each epoch.
    stopped_epoch : int or None
        Epoch after which a callback stopped training.
    best_epoch : int or None
        Epoch whose weights were restored by early stopping.
    diagnostics : list of dict
        Per-epoch records of :class:`mytorch.diagnostics.Diagnostics` (empty without it).
    """

    train_loss: list[float] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_error: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped_epoch: int | None = None
    best_epoch: int | None = None
    diagnostics: list[dict[str, Any]] = field(default_factory=list)

    COLUMNS = ("train_loss", "train_error", "val_loss", "val_error", "lr", "seconds")

    def __len__(self) -> int:
        return len(self.train_loss)

    def append(self, logs: dict[str, float]) -> None:
        """Add one epoch's numbers."""
        for name in self.COLUMNS:
            getattr(self, name).append(float(logs.get(name, np.nan)))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (NaN becomes None)."""
        out: dict[str, Any] = {
            name: [None if np.isnan(v) else v for v in getattr(self, name)] for name in self.COLUMNS
        }
        out["epoch"] = list(range(1, len(self) + 1))
        out["stopped_epoch"] = self.stopped_epoch
        out["best_epoch"] = self.best_epoch
        if self.diagnostics:
            out["diagnostics"] = self.diagnostics
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a History from :meth:`to_dict` output (resuming a run)."""
        history = cls()
        for name in cls.COLUMNS:
            getattr(history, name).extend(
                np.nan if v is None else float(v) for v in data.get(name, [])
            )
        history.stopped_epoch = data.get("stopped_epoch")
        history.best_epoch = data.get("best_epoch")
        history.diagnostics = list(data.get("diagnostics", []))
        return history


class Callback:
    """Hooks into the training loop; override what you need.

    ``trainer.stop_training = True`` in a hook ends training after the epoch.

    A callback that keeps numbers from epoch to epoch (a best value, a count) returns
    them from :meth:`state_dict` and takes them back in :meth:`load_state_dict`, so that
    a checkpoint holds them and a resumed run continues exactly where it stopped; one
    without such state keeps the defaults (an empty dict).
    """

    def state_dict(self) -> dict[str, Any]:
        """What the callback carries from one epoch to the next (plain data and arrays)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state_dict`; called after :meth:`on_train_begin`."""
        if state:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: this callback keeps no state, "
                f"got {sorted(state)}"
            )

    #: True for a callback that must see every optimiser step (it wraps ``step``): the
    #: trainer then trains with the reference loop instead of the compiled step.
    needs_each_step = False

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once before the first epoch."""

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        """Called after each optimiser step (``step`` is ``trainer.step_count``).

        A callback that overrides it makes the trainer train batch by batch (no whole
        compiled epochs), so that it sees every step; weight averaging uses it.
        """

    def on_validation_begin(self, trainer: Trainer) -> None:
        """Called before each epoch's validation pass (only when ``fit`` has ``val_data``).

        Weight averaging puts the averaged weights into the model here, so that the
        epoch's validation numbers are the averaged model's.
        """

    def on_validation_end(self, trainer: Trainer) -> None:
        """Called after each epoch's validation pass, even if it raised (callbacks in
        reverse order): undo what :meth:`on_validation_begin` changed."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch with its numbers (``epoch`` counts from 1)."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Called once after the last epoch."""


class EarlyStopping(Callback):
    """Stop when a monitored number stops improving; optionally restore the best weights.

    The notes' early stopping: watch the validation loss each epoch, keep the best
    weights, stop once it has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A History column, e.g. 'val_loss' (default) or 'val_error'.
    patience : int
        Epochs without improvement before stopping.
    min_delta : float
        Smallest decrease that counts as an improvement.
    restore_best_weights : bool
        Load the best epoch's parameters and buffers back into the model at the end.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if monitor not in History.COLUMNS:
            raise ValueError(
                f"EarlyStopping: expected monitor in {History.COLUMNS}, got {monitor!r}"
            )
        self.monitor = monitor
        self.patience = check_positive_int(patience, "EarlyStopping", "patience")
        self.min_delta = check_number(min_delta, "EarlyStopping", "min_delta", low=0)
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.best = np.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.wait = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        self._reset()

    _STATE_KEYS = ("best", "best_epoch", "best_state", "wait")

    def state_dict(self) -> dict[str, Any]:
        """The best value, its epoch and weights, and the epochs waited since."""
        return {
            "best": float(self.best),
            "best_epoch": self.best_epoch,
            "best_state": None
            if self.best_state is None
            else {k: np.array(v, copy=True) for k, v in self.best_state.items()},
            "wait": int(self.wait),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state_dict` (a resumed run continues the count)."""
        if not isinstance(state, dict) or set(state) != set(self._STATE_KEYS):
            got = sorted(state) if isinstance(state, dict) else state
            raise ValueError(
                f"EarlyStopping.load_state_dict: expected the keys {sorted(self._STATE_KEYS)}, "
                f"got {got}"
            )
        self.best = float(state["best"])
        self.best_epoch = None if state["best_epoch"] is None else int(state["best_epoch"])
        best_state = state["best_state"]
        self.best_state = (
            None
            if best_state is None
            else {k: np.array(v, copy=True) for k, v in best_state.items()}
        )
        self.wait = int(state["wait"])

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.monitor, np.nan)
        if np.isnan(value):
            raise ValueError(
                f"EarlyStopping: '{self.monitor}' is not available; pass "
                "validation data to fit() or monitor a training column"
            )
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = trainer.snapshot()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        trainer.history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_state is not None:
            trainer.restore(self.best_state)
