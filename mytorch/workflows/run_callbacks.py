"""The callbacks of a ``mytorch train`` run: the epoch line, the checkpoint, the live files.

* :class:`EpochPrinter` prints one line per epoch;
* :class:`Checkpoint` saves, after every epoch, all a resumed run needs to end exactly
  as the uninterrupted run would: model, optimiser, schedule, history, random
  generators, every callback's state (early stopping's best value, weights and wait)
  and whether a callback stopped the run;
* :class:`LiveFiles` rewrites ``metrics.json``, ``metrics.csv`` and (when it is cheap
  enough) ``learning_curves.png`` after every epoch, so that the run can be followed
  from outside while it trains.

:func:`restore` puts a checkpoint back into a trainer.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mytorch import nn
from mytorch.config import TrainConfig
from mytorch.serialization import save_checkpoint
from mytorch.trainer import Callback, History, Trainer
from mytorch.workflows import report

__all__ = ["Checkpoint", "EpochPrinter", "LiveFiles", "restore"]


def _generators(model: nn.Module, trainer: Trainer) -> list[np.random.Generator]:
    """Every random generator of a run, in a fixed order: the trainer's, then the
    model's modules' (dropout), so that a resumed run draws what the whole run would."""
    gens = [trainer.rng]
    gens += [
        m.rng for m in model.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)
    ]
    return gens


class Checkpoint(Callback):
    """Save everything needed to resume after every epoch (atomically).

    Keep it the last of the callbacks that change state (early stopping): it saves
    what they decided at this epoch.

    Parameters
    ----------
    path : pathlib.Path
        The checkpoint file.
    config : TrainConfig
        The run's settings (a resumed run is built from them).
    scaling : dict or None
        The feature scaling (a resumed run must not fit it again).
    """

    def __init__(self, path: Path, config: TrainConfig, scaling: Any) -> None:
        self.path, self.config, self.scaling = path, config, scaling

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        save_checkpoint(
            self.path,
            {
                "config": asdict(self.config),
                "epoch": trainer.epoch,
                "step": trainer.step_count,
                "model": dict(trainer.model.state_dict()),
                "optimizer": trainer.optimizer.state_dict(),
                "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
                "history": trainer.history.to_dict(),
                "rng": [g.bit_generator.state for g in _generators(trainer.model, trainer)],
                "scaling": self.scaling,
                "callbacks": trainer.callback_states(),
                # A callback ended the run at this epoch: a resumed run trains no more.
                "stopped": bool(trainer.stop_training),
            },
        )


def restore(state: dict, trainer: Trainer) -> bool:
    """Put a checkpoint's model, optimiser, schedule, history, generators and callback
    states back into ``trainer``; return whether a callback had stopped the run.

    A checkpoint of release 0.1.0 has no callback states and no stop flag: its callbacks
    start afresh.
    """
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None and state["scheduler"] is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.history = History.from_dict(state["history"])
    trainer.epoch, trainer.step_count = state["epoch"], state["step"]
    generators = _generators(trainer.model, trainer)
    for generator, saved_state in zip(generators, state["rng"], strict=True):
        generator.bit_generator.state = saved_state
    trainer.load_callback_states(state.get("callbacks", []))
    stopped = bool(state.get("stopped", False))
    if stopped:
        # Fit sets it after the callbacks, after the checkpoint was saved.
        trainer.history.stopped_epoch = trainer.epoch
    return stopped


class EpochPrinter(Callback):
    """Print one line per epoch: losses, errors, learning rate and time.

    Parameters
    ----------
    total : int
        The epochs the run plans (printed as ``epoch 3/10``).
    stream : file-like
        Where to print.
    """

    def __init__(self, total: int, stream: Any) -> None:
        self.total, self.stream = total, stream

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        print(
            f"epoch {epoch:3d}/{self.total}  train loss {logs['train_loss']:.4f} "
            f"error {logs['train_error']:.2%}  |  val loss {logs.get('val_loss', np.nan):.4f} "
            f"error {logs.get('val_error', np.nan):.2%}  lr {logs['lr']:.3g}  "
            f"({logs['seconds']:.1f}s)",
            file=self.stream,
            flush=True,
        )


class LiveFiles(Callback):
    """Rewrite the run's metrics files after every epoch, and its learning curves when cheap.

    ``metrics.json`` and ``metrics.csv`` are rewritten after every epoch (a few kB). The
    picture ``learning_curves.png`` takes a matplotlib drawing (a few tenths of a
    second), so it is redrawn only once training has run ``1 / picture_share`` times as
    long as the last drawing took: drawing costs at most that share of the run. Epochs
    of a second or more are drawn every epoch or two; a run of a few seconds is drawn
    only at its end. Every file is replaced atomically: a reader never sees half of one.

    Parameters
    ----------
    out : pathlib.Path
        The run directory.
    title : str
        The picture's title.
    picture_share : float
        The largest share of the run's time spent drawing (0 never draws).
    first_drawing_seconds : float
        What the first drawing is assumed to take, before one was timed.
    """

    def __init__(
        self,
        out: Path,
        title: str,
        picture_share: float = 0.05,
        first_drawing_seconds: float = 0.25,
    ) -> None:
        self.out, self.title = out, title
        self.picture_share = picture_share
        self.drawing_seconds = first_drawing_seconds
        self.since = time.perf_counter()

    def on_train_begin(self, trainer: Trainer) -> None:
        self.since = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        history = trainer.history.to_dict()
        # Atomic without fsync: rebuilt from the (durable) checkpoint if the power fails.
        report.write_history(self.out, history, durable=False)
        if self.picture_share <= 0:
            return
        started = time.perf_counter()
        if started - self.since < self.drawing_seconds / self.picture_share:
            return
        if not report.draw_learning_curves(self.out, history, self.title):
            self.picture_share = 0.0  # no matplotlib: stop trying
            return
        self.since = time.perf_counter()
        self.drawing_seconds = self.since - started
