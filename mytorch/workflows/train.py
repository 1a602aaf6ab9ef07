"""``mytorch train``: data -> batches -> model -> loss -> backward -> optimiser -> metrics.

:func:`train` leaves one run directory (``config.out``)::

    model.npz            the trained model (``mytorch.load``)
    config.json          every setting of the run (``init`` as chosen by ``auto``)
    metrics.json / .csv  per-epoch history, rewritten after every epoch
    report.json          test accuracy, loss, per-class precision/recall/F1
    learning_curves.png  training/validation loss and error per epoch (redrawn while
                         training when it is cheap, see ``LiveFiles``)
    confusion_matrix.png on the test set
    checkpoint.npz       the last finished epoch (``resume=True`` continues from it)
    .mytorch.lock        the folder's lock: one run at a time (``mytorch.run_lock``)

and, with ``config.diagnostics``, ``diagnostics.json`` and ``diagnostics.png``; with
``config.tensorboard``, TensorBoard event files in ``tensorboard/`` (or the folder
given). Every file is written atomically; a run killed at any moment and resumed ends
with the files, bit for bit, of the run that was never interrupted.
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
from mytorch.run_lock import RunLock
from mytorch.sample_weight import balanced_class_weights
from mytorch.serialization import load_checkpoint, save
from mytorch.trainer import Callback, EarlyStopping, Trainer, TrainingDivergedError
from mytorch.version import __version__
from mytorch.weight_averaging import ExponentialMovingAverage, StochasticWeightAveraging
from mytorch.workflows import report
from mytorch.workflows.batch_augmentation import build_augmentation
from mytorch.workflows.build import (
    apply_scaling,
    build_model,
    build_optimizer,
    build_scheduler,
    fit_scaling,
    load_data,
    resolve_init,
)
from mytorch.workflows.evaluate import score
from mytorch.workflows.run_callbacks import Checkpoint, EpochPrinter, LiveFiles, restore

__all__ = ["Checkpoint", "EpochPrinter", "LiveFiles", "train"]

#: Rows of the validation data whose activations ``--tensorboard --diagnostics`` draws.
_PROBE_ROWS = 256


def _progress_bar(enabled: bool, epoch_of: Any) -> Any:
    """A tqdm wrapper for the batches of an epoch, or None (off, or no tqdm)."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None

    def wrap(loader: Any) -> Any:
        return tqdm(
            loader,
            desc=f"epoch {epoch_of()}",
            leave=False,
            unit="batch",
            disable=None,
            dynamic_ncols=True,
        )

    return wrap


def train(
    config: TrainConfig, *, resume: bool = False, progress: bool = True, stream: Any = None
) -> dict[str, Any]:
    """Run ``mytorch train``; return the report (also written to the run directory).

    The run folder is locked for the whole run (:class:`mytorch.run_lock.RunLock`): a
    second run into the same folder fails at once, naming this one, and a lock left by
    a killed run is taken over (the run says so).

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
    mytorch.run_lock.RunFolderBusyError
        If another process is running in ``config.out``.
    ImportError
        If ``config.tensorboard`` is set and tensorboardX is not installed.
    mytorch.trainer.TrainingDivergedError
        If the loss becomes NaN or inf; the message says which checkpoint is kept.
    """
    stream = sys.stdout if stream is None else stream  # looked up now: redirects work
    out = Path(config.out)
    if resume and not (out / "checkpoint.npz").exists():
        raise FileNotFoundError(
            f"mytorch train --resume: no checkpoint at {out / 'checkpoint.npz'}"
        )
    with RunLock(out) as lock:
        if not lock.supported:
            print("note: the run folder is not locked (this platform has no fcntl)", file=stream)
        elif lock.taken_over:
            print(f"note: {lock.describe_taken_over()}", file=stream)
        return _train(config, out, resume, progress, stream)


def _train(
    config: TrainConfig, out: Path, resume: bool, progress: bool, stream: Any
) -> dict[str, Any]:
    """:func:`train` with the run folder locked."""
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
    # config.json and the checkpoint say which initialisation --init auto chose.
    config.init, init_reason = resolve_init(config)
    data, (X_train, y_train), (X_val, y_val) = load_data(config)
    scaling = state["scaling"] if state else fit_scaling(config, X_train)
    X_train, X_val = apply_scaling(X_train, scaling), apply_scaling(X_val, scaling)
    X_test = apply_scaling(data.X_test, scaling)
    model = build_model(config, X_train.shape[1], data.n_classes)
    optimizer = build_optimizer(config, list(model.parameters()))
    steps_per_epoch = -(-len(X_train) // config.batch_size)
    scheduler = build_scheduler(config, optimizer, steps_per_epoch=steps_per_epoch)
    title = f"{data.name}: {report.describe(config)}"
    augment = build_augmentation(config, X_train.shape[1], scaling)
    averaging = _averaging(config, X_train)
    callbacks = _callbacks(config, out, scaling, averaging, X_val, title, stream)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
        optimizer,
        scheduler=scheduler,
        schedule_interval=config.schedule_interval,
        callbacks=callbacks,
        augment=augment,
        input_noise=config.input_noise,
        max_grad_norm=config.max_grad_norm,
        rng=config.seed,
        compiled=False if config.reference_loop else "auto",
    )
    stopped = restore(state, trainer) if state is not None else False
    report.write_json(out / "config.json", asdict(config))
    remaining = 0 if stopped else config.epochs - trainer.epoch
    print(
        f"MyTorch {__version__}: {data.name} ({len(X_train)} train / {len(X_val)} val "
        f"/ {len(X_test)} test, {data.n_classes} classes), initialisation {config.init}"
        f"{f' (--init auto: {init_reason})' if init_reason else ''}, model:\n{model}",
        file=stream,
    )
    if stopped:
        print(f"(the run was stopped early after epoch {trainer.epoch})", file=stream)
    progress_bar = _progress_bar(progress, lambda: trainer.epoch)
    sample_weight, val_data = _class_weights(config, y_train, (X_val, y_val))
    plan = trainer.plan(X_train, y_train, progress=progress_bar, sample_weight=sample_weight)
    print(f"training: {plan}", file=stream)
    if augment is not None:
        print(f"augmentation of the training batches: {augment!r}", file=stream)
    if averaging is not None:
        print(
            f"weight averaging: {averaging!r}; validation, the test report and model.npz "
            "use the averaged weights",
            file=stream,
        )
    started = time.perf_counter()
    try:
        if remaining > 0:
            # Overflow warnings are noise here: the trainer's guard stops with a clear message.
            with np.errstate(over="ignore", invalid="ignore"):
                trainer.fit(
                    X_train,
                    y_train,
                    epochs=remaining,
                    batch_size=config.batch_size,
                    val_data=val_data,
                    progress=progress_bar,
                    sample_weight=sample_weight,
                )
        else:
            # Nothing left to train, but the run still ends as fit() ends it (early
            # stopping puts the best weights back).
            trainer.finish()
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
    if config.tensorboard:
        files.append(f"{_tensorboard_dir(config, out)}/")
    print(f"\nSaved to {out}/: {', '.join(files)}", file=stream)
    return result


def _class_weights(
    config: TrainConfig, y_train: np.ndarray, val_data: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray | None, tuple[np.ndarray, ...]]:
    """``--class-weight``'s sample weights of the training split, and the validation data
    with its samples weighted alike (early stopping then watches the loss trained on).

    'balanced' weighs class c by n_train / (n_classes * count of c in the training
    split), scikit-learn's meaning; rebuilt the same on ``--resume`` (the split is).
    """
    if config.class_weight is None:
        return None, val_data
    X_val, y_val = val_data
    n_classes = int(max(y_train.max(), y_val.max())) + 1
    per_class = balanced_class_weights(y_train, n_classes)
    return per_class[y_train], (X_val, y_val, per_class[y_val])


def _tensorboard_dir(config: TrainConfig, out: Path) -> Path:
    """``--tensorboard``'s folder: ``out/tensorboard``, or the one given."""
    return out / "tensorboard" if config.tensorboard is True else Path(config.tensorboard)


def _averaging(config: TrainConfig, X_train: np.ndarray) -> Callback | None:
    """The weight averaging of ``--ema`` or ``--swa-start``, or None."""
    if config.ema is not None:
        return ExponentialMovingAverage(config.ema)
    if config.swa_start is not None:
        bn_data = X_train if config.batch_norm else None  # update_bn's pass, over the data
        return StochasticWeightAveraging(config.swa_start, bn_data, config.batch_size)
    return None


def _callbacks(
    config: TrainConfig,
    out: Path,
    scaling: Any,
    averaging: Callback | None,
    X_val: np.ndarray,
    title: str,
    stream: Any,
) -> list[Callback]:
    """The run's callbacks, in the order they run after each epoch.

    Weight averaging folds the epoch in (SWA without validation data) before the
    checkpoint saves it; early stopping decides before the checkpoint saves its
    decision; TensorBoard writes before the checkpoint, so that what a killed run wrote
    past its checkpoint is hidden by the resumed run's purge marker; the live files
    follow the checkpoint and so show no epoch that a resumed run would not keep.
    """
    callbacks: list[Callback] = [EpochPrinter(config.epochs, stream)]
    if config.diagnostics:
        from mytorch.tools.diagnostics import Diagnostics

        callbacks.append(Diagnostics())
    if averaging is not None:
        callbacks.append(averaging)
    if config.early_stopping:
        callbacks.append(EarlyStopping(patience=config.early_stopping))
    if config.tensorboard:
        from mytorch.tools.tensorboard import TensorBoard

        probe = X_val[:_PROBE_ROWS] if config.diagnostics else None
        callbacks.append(
            TensorBoard(_tensorboard_dir(config, out), histograms=config.diagnostics, probe=probe)
        )
    callbacks.append(Checkpoint(out / "checkpoint.npz", config, scaling))
    callbacks.append(LiveFiles(out, title))
    return callbacks
