"""One playground session: a toy run that the page trains one mini-batch at a time.

A :class:`Session` holds the run ``mytorch toy`` would train for the same settings
(:func:`mytorch.workflows.toy.toy_data` and :func:`~mytorch.workflows.toy.toy_trainer`
make its points, network, loss, optimiser and schedule) and steps it exactly as
:meth:`mytorch.trainer.Trainer.fit` does: the same batches in the same order, the
schedule stepped and the diagnostics read at the end of every epoch. So after E epochs
its model is the one ``mytorch toy --epochs E`` saves, bit for bit.

Everything a session keeps is bounded: the points (checks.LIMITS), the loss curves
(:class:`LossCurves` halves itself when full) and the diagnostics (the last few epochs).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from mytorch.data import DataLoader
from mytorch.datasets.features import feature_map
from mytorch.playground.checks import Setup
from mytorch.tools.diagnostics import Diagnostics, format_table, summarize
from mytorch.trainer import TrainingDivergedError
from mytorch.workflows.targets import two_class_loss
from mytorch.workflows.toy import toy_data, toy_trainer

__all__ = ["LossCurves", "Session", "warm_up"]

#: Epochs of diagnostics kept (the advice reads the last epoch and a median over these).
DIAGNOSTIC_EPOCHS = 20


class LossCurves:
    """Training and test loss after some steps, at most ``capacity`` points.

    When full, every second point is dropped and points are then taken half as often:
    the curves keep their whole span in a bounded size.
    """

    def __init__(self, capacity: int = 400) -> None:
        self.capacity = capacity
        self.every = 1
        self.steps: list[int] = []
        self.train: list[float] = []
        self.test: list[float] = []

    def wants(self, step: int) -> bool:
        """Whether a point at ``step`` would be kept."""
        return step % self.every == 0 and (not self.steps or step > self.steps[-1])

    def add(self, step: int, train: float, test: float) -> None:
        self.steps.append(step)
        self.train.append(_plain(train))
        self.test.append(_plain(test))
        if len(self.steps) > self.capacity:
            self.steps, self.train, self.test = self.steps[::2], self.train[::2], self.test[::2]
            self.every *= 2

    def to_dict(self) -> dict[str, list]:
        return {"steps": self.steps, "train": self.train, "test": self.test}


class Session:
    """A toy run trained step by step for one browser tab.

    Parameters
    ----------
    setup : Setup
        The checked configuration (``checks.parse_setup``).
    session_id : str
        A secret, unguessable name (the model download's address holds it).

    Attributes
    ----------
    lock : threading.Lock
        Held by every method that reads or changes the run: the web server calls them
        from worker threads.
    last_seen : float
        ``time.monotonic()`` of the page's last message.
    """

    def __init__(self, setup: Setup, session_id: str) -> None:
        self.id = session_id
        self.lock = threading.Lock()
        self.last_seen = time.monotonic()
        self.selected = 0
        #: Seconds one training step takes here (a running average), or None.
        self.step_seconds: float | None = None
        self.reset(setup)

    # ------------------------------------------------------------ the run
    def reset(self, setup: Setup | None = None) -> None:
        """Start the run again from fresh weights (with a new ``setup`` if given)."""
        with self.lock:
            if setup is not None:
                self.setup = setup
            config = self.setup.config
            (X, y), (X_test, y_test) = toy_data(config)
            self.points, self.labels = X, y
            self.test_points, self.test_labels = X_test, y_test
            self.inputs = feature_map(X, config.features).astype(config.dtype)
            self.test_inputs = feature_map(X_test, config.features).astype(config.dtype)
            self.diagnostics = Diagnostics()
            self.trainer, self.loss = toy_trainer(config, callbacks=[self.diagnostics])
            self.targets = self.loss.targets(y)
            self.test_targets = self.loss.targets(y_test)
            self.measure = two_class_loss(config.loss).criterion  # not the trainer's
            self.loader = DataLoader(
                self.inputs,
                self.targets,
                batch_size=config.batch_size,
                shuffle=True,
                rng=self.trainer.rng,
            )
            self.diagnostics.on_train_begin(self.trainer)
            self._batches: Any = None
            self._batch, self._loss_total, self._seen, self._lr = 0, 0.0, 0, 0.0
            self.curves = LossCurves()
            self.advice: list[str] = []
            self.table = ""
            self.error: str | None = None
            self._measured: tuple | None = None
            self.selected = min(self.selected, len(X) - 1)
            self._record()

    @property
    def config(self) -> Any:
        return self.setup.config

    @property
    def epoch(self) -> int:
        """Finished epochs."""
        return self.trainer.epoch - (self._batches is not None)

    @property
    def finished(self) -> bool:
        """The run has trained its ``epochs`` (or diverged): it trains no further."""
        return self.error is not None or self.epoch >= self.config.epochs

    def advance(self, steps: int) -> int:
        """Train ``steps`` mini-batches (fewer if the run finishes); return how many ran.

        A divergence (NaN or inf) stops the run; :attr:`error` then says why in words.
        """
        ran = 0
        with self.lock:
            self.trainer.set_training(True)
            started = time.perf_counter()
            try:
                while ran < steps and not self.finished:
                    self._step()
                    ran += 1
            except TrainingDivergedError as error:
                self.error = f"training stopped: {error}"
            if ran:
                took = (time.perf_counter() - started) / ran
                self.step_seconds = (
                    took if self.step_seconds is None else (0.8 * self.step_seconds + 0.2 * took)
                )
            self._record()
        return ran

    def _step(self) -> None:
        """One mini-batch, as ``Trainer.fit`` runs it."""
        trainer = self.trainer
        if self._batches is None:  # an epoch begins
            trainer.epoch += 1
            self._lr = trainer.current_lr()
            self._batches = iter(self.loader)  # draws the epoch's shuffle, as fit does
            self._batch, self._loss_total, self._seen = 0, 0.0, 0
        xb, yb = next(self._batches)
        trainer.step_count += 1
        with np.errstate(over="ignore", invalid="ignore"):
            _, loss = trainer.training_step(xb, yb)
        self._loss_total += loss
        self._seen += len(xb)
        self._batch += 1
        if self._batch == len(self.loader):
            self._end_epoch()

    def _end_epoch(self) -> None:
        trainer = self.trainer
        logs = {"train_loss": self._loss_total / self._seen, "lr": self._lr}
        if trainer.scheduler is not None:  # as Trainer.fit steps it, without val data
            if getattr(trainer.scheduler, "monitors_metric", False):
                trainer.scheduler.step(logs["train_loss"])
            else:
                trainer.scheduler.step()
        self.diagnostics.on_epoch_end(trainer, trainer.epoch, logs)
        del self.diagnostics.records[:-DIAGNOSTIC_EPOCHS]  # bounded: the last epochs only
        self.advice = summarize(self.diagnostics.records)
        self.table = format_table(self.diagnostics.records)
        self._batches = None

    # ------------------------------------------------------------ measuring
    def _record(self) -> None:
        step = self.trainer.step_count
        if self.curves.wants(step):
            (train, _), (test, _) = self.measured()
            self.curves.add(step, train, test)

    def measured(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(loss, accuracy) on the training and the test points, after this step
        (computed once per step: the curves and the frame both ask)."""
        step = self.trainer.step_count
        if self._measured is None or self._measured[0] != step:
            train = self.evaluate(self.inputs, self.targets, self.labels)
            test = self.evaluate(self.test_inputs, self.test_targets, self.test_labels)
            self._measured = (step, train, test)
        return self._measured[1], self._measured[2]

    def evaluate(self, inputs: np.ndarray, targets: np.ndarray, labels: np.ndarray) -> tuple:
        """(loss, accuracy) of the model in evaluation mode on a set of points."""
        model = self.trainer.model
        was_training = model.training
        model.eval()
        try:
            with np.errstate(all="ignore"):
                logits = model(inputs)
                loss = float(np.mean(self.measure(logits, targets)))
        except ValueError:  # NaN inside a diverged network
            return float("nan"), float("nan")
        finally:
            model.train(was_training)
        return loss, float(np.mean(np.argmax(logits, axis=1) == labels))

    def status(self) -> dict[str, Any]:
        """Where the run is: step, epoch, losses, accuracies, learning rate, advice."""
        (train_loss, train_accuracy), (test_loss, test_accuracy) = self.measured()
        return {
            "step": self.trainer.step_count,
            "epoch": self.epoch,
            "epochs": self.config.epochs,
            "lr": self.trainer.current_lr(),
            "train_loss": _plain(train_loss),
            "test_loss": _plain(test_loss),
            "train_accuracy": _plain(train_accuracy),
            "test_accuracy": _plain(test_accuracy),
            "finished": self.finished,
            "error": self.error,
            "advice": self.advice,
            "table": self.table,
            "curves": self.curves.to_dict(),
        }


def _plain(value: float) -> float | None:
    """A number for JSON: NaN and inf become None."""
    return value if np.isfinite(value) else None


def warm_up() -> None:
    """Take one step with every optimiser on a tiny run, so that their compiled loops
    (``mytorch[fast]``) are built before a learner presses play, not during it."""
    from mytorch.config import OPTIMIZERS
    from mytorch.playground.checks import parse_setup

    for name in OPTIMIZERS:
        page = {"points": 20, "hidden": [1], "optimizer": name, "batch_size": 1}
        Session(parse_setup(page), "warm-up").advance(1)
