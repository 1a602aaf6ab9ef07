"""``mytorch train``: data -> batches -> model -> loss -> backward -> optimiser -> metrics.

:func:`train` leaves one run directory (``config.out``):

    model.npz            the trained model (``mytorch.load``)
    config.json          every setting of the run
    metrics.json / .csv  per-epoch history
    report.json          test accuracy, loss, per-class precision/recall/F1
    learning_curves.png  training/validation loss and error per epoch
    confusion_matrix.png on the test set
    checkpoint.npz       the last finished epoch (``resume=True`` continues from it)

and, with ``config.diagnostics``, ``diagnostics.json`` and ``diagnostics.png``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mytorch import nn
from mytorch.config import TrainConfig
from mytorch.serialization import load_checkpoint, save, save_checkpoint
from mytorch.trainer import Callback, EarlyStopping, History, Trainer, TrainingDivergedError
from mytorch.version import __version__
from mytorch.workflows import report
from mytorch.workflows.build import (
    apply_scaling,
    build_model,
    build_optimizer,
    build_scheduler,
    fit_scaling,
    load_data,
)
from mytorch.workflows.evaluate import score

__all__ = ["Checkpoint", "EpochPrinter", "train"]


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
            },
        )


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


def _progress_bar(enabled: bool, epoch_of: Any) -> Any:
    """A tqdm wrapper for the batches of an epoch, or None (off, or no tqdm)."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None

    def wrap(loader):
        return tqdm(
            loader,
            desc=f"epoch {epoch_of()}",
            leave=False,
            unit="batch",
            disable=None,
            dynamic_ncols=True,
        )

    return wrap


def _restore(state: dict, trainer: Trainer) -> None:
    """Put a checkpoint's model, optimiser, schedule, history and generators back."""
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None and state["scheduler"] is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.history = History.from_dict(state["history"])
    trainer.epoch, trainer.step_count = state["epoch"], state["step"]
    generators = _generators(trainer.model, trainer)
    for generator, saved_state in zip(generators, state["rng"], strict=True):
        generator.bit_generator.state = saved_state


def train(
    config: TrainConfig, *, resume: bool = False, progress: bool = True, stream: Any = None
) -> dict[str, Any]:
    """Run ``mytorch train``; return the report (also written to the run directory).

    Parameters
    ----------
    config : TrainConfig
        The run's settings; validated here. With ``resume``, only ``epochs`` (0: the
        epochs the run was started with) and ``out`` are taken from it, the rest from
        the checkpoint.
    resume : bool
        Continue the run in ``config.out`` from its ``checkpoint.npz``.
    progress : bool
        Show a progress bar over each epoch's batches (needs tqdm).
    stream : file-like, optional
        Where the run prints (default ``sys.stdout``, looked up when called).

    Returns
    -------
    dict
        The test report (:func:`mytorch.workflows.evaluate.score`) with ``dataset``,
        ``epochs_run``, ``train_seconds`` and ``best_epoch``.

    Raises
    ------
    ValueError
        On a bad setting or bad data.
    FileNotFoundError
        On ``resume`` without a checkpoint, or a missing data file.
    mytorch.trainer.TrainingDivergedError
        If the loss becomes NaN or inf; the message says which checkpoint is kept.
    """
    stream = sys.stdout if stream is None else stream  # looked up now: redirects work
    out = Path(config.out)
    checkpoint_path = out / "checkpoint.npz"
    state = None
    if resume:
        if not checkpoint_path.exists():
            raise FileNotFoundError(f"mytorch train --resume: no checkpoint at {checkpoint_path}")
        state = load_checkpoint(checkpoint_path)
        saved = TrainConfig(**state["config"])
        # Everything but the length of the run and the output comes from the checkpoint;
        # epochs=0 (no --epochs given) continues to the epochs the run was started with.
        saved.epochs, saved.out = config.epochs or saved.epochs, config.out
        config = saved
    config.validate()
    data, (X_train, y_train), (X_val, y_val) = load_data(config)
    scaling = state["scaling"] if state else fit_scaling(config, X_train)
    X_train, X_val = apply_scaling(X_train, scaling), apply_scaling(X_val, scaling)
    X_test = apply_scaling(data.X_test, scaling)
    model = build_model(config, X_train.shape[1], data.n_classes)
    optimizer = build_optimizer(config, list(model.parameters()))
    scheduler = build_scheduler(config, optimizer)
    callbacks: list[Callback] = [EpochPrinter(config.epochs, stream)]
    if config.diagnostics:
        from mytorch.tools.diagnostics import Diagnostics

        callbacks.append(Diagnostics())
    if config.early_stopping:
        callbacks.append(EarlyStopping(patience=config.early_stopping))
    callbacks.append(Checkpoint(checkpoint_path, config, scaling))
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        scheduler=scheduler,
        callbacks=callbacks,
        input_noise=config.input_noise,
        max_grad_norm=config.max_grad_norm,
        rng=config.seed,
    )
    if state is not None:
        _restore(state, trainer)
    out.mkdir(parents=True, exist_ok=True)
    report.write_json(out / "config.json", asdict(config))
    remaining = config.epochs - trainer.epoch
    print(
        f"MyTorch {__version__}: {data.name} ({len(X_train)} train / {len(X_val)} val "
        f"/ {len(X_test)} test, {data.n_classes} classes), model:\n{model}",
        file=stream,
    )
    started = time.perf_counter()
    if remaining > 0:
        try:
            # Overflow warnings are noise here: the trainer's guard stops with a clear message.
            with np.errstate(over="ignore", invalid="ignore"):
                trainer.fit(
                    X_train,
                    y_train,
                    epochs=remaining,
                    batch_size=config.batch_size,
                    val_data=(X_val, y_val),
                    progress=_progress_bar(progress, lambda: trainer.epoch),
                )
        except TrainingDivergedError as error:
            kept = (
                f"\nThe last good epoch ({len(trainer.history)}) is kept in {checkpoint_path}."
                if len(trainer.history)
                else ""
            )
            raise TrainingDivergedError(f"{error}{kept}") from None
    train_seconds = time.perf_counter() - started
    history = trainer.history.to_dict()
    model.eval()
    metadata = {
        "classes": list(data.classes),
        "dataset": data.name,
        "scaling": scaling,
        "config": asdict(config),
    }
    save(model, out / "model.npz", metadata=metadata)
    report.write_history(out, history)
    result = score(model, X_test, data.y_test, list(data.classes))
    result.update(
        {
            "dataset": data.name,
            "epochs_run": len(trainer.history),
            "train_seconds": round(train_seconds, 2),
            "best_epoch": history["best_epoch"],
        }
    )
    report.write_json(out / "report.json", result)
    # Looked up on the module when called, so that a test can replace the drawing.
    title = f"{data.name}: {report.describe(config)}"
    pictures = report.draw_pictures(out, history, result, list(data.classes), title)
    report.print_report(result, list(data.classes), stream)
    if config.diagnostics:
        pictures += report.report_diagnostics(out, trainer.history.diagnostics, stream)
    files = [
        "model.npz",
        "config.json",
        "metrics.json",
        "metrics.csv",
        "report.json",
        "checkpoint.npz",
        *pictures,
    ]
    print(f"\nSaved to {out}/: {', '.join(files)}", file=stream)
    return result
