"""Follow a run in TensorBoard: per-epoch scalars and per-layer histograms as event files.

:class:`TensorBoard` is a :class:`~mytorch.trainer.Callback` that writes, after every
epoch, with tensorboardX's event-file writer (``pip install 'mytorch[tensorboard]'``):

* scalars: ``loss/train``, ``loss/validation``, ``accuracy/train``,
  ``accuracy/validation`` (1 - error rate; classification only), ``learning_rate`` and
  ``epoch_seconds``; a number the epoch does not have (no validation data) is left out;
* with ``histograms=True``: ``weights/<parameter>`` (after the epoch),
  ``gradients/<parameter>`` (of the epoch's last step, after clipping) and, given a
  ``probe`` batch, ``activations/<module>`` (every activation's outputs for the probe,
  run in evaluation mode, so epochs compare on the same inputs).

The step of every value is the epoch (counted from 1). Each epoch's events are written
and flushed before the next callback runs (tensorboardX's synchronous ``EventsWriter``,
not its ``SummaryWriter``, whose background thread may still hold an epoch when the
run's checkpoint is saved), so ``tensorboard --logdir DIR`` follows the run while it
trains, and a run killed after a checkpoint has that epoch in its event file. A resumed
run writes a new event file into the same folder, named to sort after the old ones,
which starts with a purge marker at its first epoch: TensorBoard hides whatever an
interrupted run had written from that epoch on, so each epoch is shown once.

Cost: nothing unless used. Scalars are a few bytes an epoch; histograms read each
parameter, gradient and probe output once an epoch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from mytorch.nn.module import Module
from mytorch.tools.diagnostics.statistics import _tracked_activations
from mytorch.trainer import Callback

__all__ = ["TensorBoard"]

#: Scalars per epoch: (tag, History column, turn the value into what is shown).
SCALARS = (
    ("loss/train", "train_loss", float),
    ("loss/validation", "val_loss", float),
    ("accuracy/train", "train_error", lambda error: 1.0 - error),
    ("accuracy/validation", "val_error", lambda error: 1.0 - error),
    ("learning_rate", "lr", float),
    ("epoch_seconds", "seconds", float),
)
#: Equal-width bins of every histogram, between the values' min and max.
HISTOGRAM_BINS = 64


def _tensorboardx() -> Any:
    """tensorboardX's event-file writer, summaries and event protos."""
    try:
        from tensorboardX import summary
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog
    except ImportError as error:
        raise ImportError(
            "TensorBoard logging needs tensorboardX: pip install 'mytorch[tensorboard]'"
        ) from error
    return EventsWriter, summary, Event, SessionLog


class TensorBoard(Callback):
    """Write a run's per-epoch numbers (and histograms) as TensorBoard event files.

    Parameters
    ----------
    log_dir : str or path-like
        The folder of the event files (``tensorboard --logdir`` it).
    histograms : bool
        Also write per-layer histograms of weights, gradients and (with ``probe``)
        activations every epoch.
    probe : numpy.ndarray or None
        A fixed batch of inputs, shape (N, in_features), whose activations are drawn
        (needs ``histograms``); without it no activation histograms are written.

    Examples
    --------
    >>> from mytorch import nn, optim
    >>> from mytorch.trainer import Trainer
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); y = (X[:, 0] > 0).astype(int)
    >>> model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    >>> board = TensorBoard("runs/xor/tensorboard", histograms=True, probe=X[:32])
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
    ...                   callbacks=[board], rng=0)
    >>> _ = trainer.fit(X, y, epochs=2, batch_size=16)  # doctest: +SKIP
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        histograms: bool = False,
        probe: np.ndarray | None = None,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.histograms = bool(histograms)
        self.probe = None if probe is None else np.asarray(probe)
        # Fail at once, not after the first epoch.
        self._EventsWriter, self._summary, self._Event, self._SessionLog = _tensorboardx()
        self.writer: Any = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        epoch = int(epoch)
        if self.writer is None:
            self._open(epoch)
        for tag, column, shown in SCALARS:
            value = logs.get(column, np.nan)
            if value is not None and np.isfinite(value):
                self._write(self._summary.scalar(tag, shown(value)), epoch)
        if self.histograms:
            self._write_histograms(trainer.model, epoch)
        self.writer.flush()

    def on_train_end(self, trainer: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _open(self, epoch: int) -> None:
        """A new event file, opened at the first epoch this process writes."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # The file's name holds the second it was opened; the suffix orders two files
        # of the same second (a run resumed at once) and keeps them apart.
        self.writer = self._EventsWriter(
            str(self.log_dir / "events"), filename_suffix=f".{time.time_ns():020d}"
        )
        # Hide what an interrupted run wrote from this epoch on.
        start = self._SessionLog(status=self._SessionLog.START)
        self.writer.write_event(self._Event(wall_time=time.time(), step=epoch, session_log=start))

    def _write(self, summary: Any, epoch: int) -> None:
        self.writer.write_event(self._Event(wall_time=time.time(), step=epoch, summary=summary))

    def _write_histograms(self, model: Any, epoch: int) -> None:
        for name, param in model.named_parameters():
            self._histogram(f"weights/{name}", param.data, epoch)
            if param.grad is not None:
                self._histogram(f"gradients/{name}", param.grad, epoch)
        if self.probe is None or not isinstance(model, Module):
            return
        tracked = _tracked_activations(model)
        was_training = model.training
        model.eval()  # no dropout draws, no batch-norm update: the run is untouched
        try:
            model(np.asarray(self.probe, dtype=model.parameter_dtype()))
        finally:
            model.train(was_training)
        for name, module in tracked:
            if module.state is not None:
                self._histogram(f"activations/{name}_{type(module).__name__}", module.state, epoch)

    def _histogram(self, tag: str, values: np.ndarray, epoch: int) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        finite = values[np.isfinite(values)]
        if finite.size:
            self._write(self._summary.histogram(tag, finite, bins=HISTOGRAM_BINS), epoch)
