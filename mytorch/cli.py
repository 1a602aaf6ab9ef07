"""The ``mytorch`` command line: train, evaluate and predict.

``mytorch train`` runs the whole flow, data -> batches -> model -> loss -> backward ->
optimiser -> metrics, and leaves one run directory:

    model.npz            the trained model (``mytorch.load``)
    config.json          every setting of the run
    metrics.json / .csv  per-epoch history
    report.json          test accuracy, loss, per-class precision/recall/F1
    learning_curves.png  training/validation loss and error per epoch
    confusion_matrix.png on the test set
    checkpoint.npz       the last finished epoch (``--resume`` continues from it)

Settings come from defaults < a TOML config file (``--config``) < flags.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

import mytorch
from mytorch import nn, optim
from mytorch.metrics import confusion_matrix, precision_recall_f1
from mytorch.serialization import ModelFileError, atomic_write, load_checkpoint, save_checkpoint
from mytorch.trainer import Callback, EarlyStopping, Trainer, TrainingDivergedError

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau", "inverse-time", "warmup")
INITS = ("default", "course", "notes", "xavier", "kaiming")


@dataclass
class TrainConfig:
    """Every setting of ``mytorch train`` (the defaults are the handout's sample MLP)."""

    dataset: str = "digits"
    data_dir: str | None = None
    download: bool = False
    hidden: list[int] = field(default_factory=lambda: [64, 64, 32])
    activation: str = "sigmoid"
    batch_norm: bool = False
    dropout: float = 0.0
    init: str = "course"
    optimizer: str = "sgd"
    lr: float = 0.008
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    epochs: int = 100
    batch_size: int = 100
    val_fraction: float = 0.1
    standardize: bool = False
    input_noise: float = 0.0
    max_grad_norm: float | None = None
    early_stopping: int | None = None
    diagnostics: bool = False
    seed: int = 0
    dtype: str = "float64"
    out: str = "runs/latest"

    def validate(self) -> TrainConfig:
        """Raise ``ValueError`` naming the first bad setting."""

        def bad(name: str, expected: str) -> ValueError:
            return ValueError(
                f"mytorch train: --{name.replace('_', '-')} expected {expected}, "
                f"got {getattr(self, name)!r}"
            )

        if self.activation not in ACTIVATIONS:
            raise bad("activation", f"one of {sorted(ACTIVATIONS)}")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", f"one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise bad("schedule", f"one of {SCHEDULES}")
        if self.init not in INITS:
            raise bad("init", f"one of {INITS}")
        if self.dtype not in ("float32", "float64"):
            raise bad("dtype", "float32 or float64")

        def integer(value: Any) -> bool:  # a TOML file may hold true/false or 2.5
            return isinstance(value, int) and not isinstance(value, bool)

        def number(value: Any) -> bool:
            return (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and bool(np.isfinite(value))
            )

        if not (
            isinstance(self.hidden, (list, tuple))
            and all(integer(h) and h > 0 for h in self.hidden)
        ):
            raise bad("hidden", "a list of positive integers")
        for name in ("epochs", "batch_size"):
            if not integer(getattr(self, name)) or getattr(self, name) < 1:
                raise bad(name, "a positive integer")
        if not (number(self.lr) and self.lr > 0):
            raise bad("lr", "a positive number")
        if not (number(self.dropout) and 0 <= self.dropout < 1):
            raise bad("dropout", "a probability in [0, 1)")
        if not (number(self.val_fraction) and 0 < self.val_fraction < 1):
            raise bad("val_fraction", "a fraction in (0, 1)")
        for name in ("momentum", "weight_decay", "input_noise"):
            value = getattr(self, name)
            if not (number(value) and value >= 0):
                raise bad(name, "a non-negative number")
        if self.max_grad_norm is not None and not (
            number(self.max_grad_norm) and self.max_grad_norm > 0
        ):
            raise bad("max_grad_norm", "a positive number")
        if self.early_stopping is not None and not (
            integer(self.early_stopping) and self.early_stopping >= 1
        ):
            raise bad("early_stopping", "a positive patience")
        if not (integer(self.seed) and self.seed >= 0):
            raise bad("seed", "a non-negative integer")
        return self


# ------------------------------------------------------------------ building blocks
def build_model(config: TrainConfig, n_features: int, n_classes: int) -> nn.Sequential:
    """The MLP of the config: [Linear, (BatchNorm), activation, (Dropout)] * n, Linear."""
    dtype = np.dtype(config.dtype)
    rng = np.random.default_rng(config.seed)
    sizes = [n_features, *config.hidden, n_classes]
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(n_in, n_out, dtype=dtype, rng=rng)
        _initialise(linear, config.init, config.activation, rng)
        layers.append(linear)
        if i < len(config.hidden):
            if config.batch_norm:
                layers.append(nn.BatchNorm1d(n_out, dtype=dtype))
            activation = ACTIVATIONS[config.activation]
            # In place when it can: no one keeps the output of a Linear or BatchNorm.
            layers.append(activation(inplace=True) if activation.supports_inplace else activation())
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout, rng=rng.integers(2**63)))
    return nn.Sequential(*layers)


def _initialise(linear: nn.Linear, scheme: str, activation: str, rng: np.random.Generator) -> None:
    from mytorch.nn import init

    if scheme == "course":
        # The handout's weight_init_fn: np.random.randn(in, out), zero biases.
        init.normal_(linear.weight, mean=0.0, std=1.0, rng=rng)
    elif scheme == "notes":
        init.notes_normal_(linear.weight, rng=rng)
    elif scheme == "xavier":
        init.xavier_uniform_(linear.weight, rng=rng)
    elif scheme == "kaiming":
        nonlinearity = "relu" if activation in ("relu", "leaky_relu", "elu", "gelu") else "linear"
        init.kaiming_uniform_(linear.weight, nonlinearity=nonlinearity, rng=rng)
    if scheme != "default" and linear.bias is not None:
        init.zeros_(linear.bias)


def build_optimizer(config: TrainConfig, parameters: list, library=optim) -> optim.Optimizer:
    """The optimiser the config names, with its learning rate, momentum and weight decay.

    ``library`` is ``mytorch.optim``, or ``torch.optim``, which has the same classes and
    arguments (``examples/torch_fashion_mnist.py`` trains the same config with PyTorch).
    """
    kind, lr, decay = config.optimizer, config.lr, config.weight_decay
    if kind == "sgd":
        return library.SGD(parameters, lr=lr, momentum=config.momentum, weight_decay=decay)
    if kind == "adam":
        return library.Adam(parameters, lr=lr, weight_decay=decay)
    if kind == "adamw":
        return library.AdamW(parameters, lr=lr, weight_decay=decay)
    if kind == "rmsprop":
        return library.RMSprop(parameters, lr=lr, momentum=config.momentum, weight_decay=decay)
    if kind == "adagrad":
        return library.Adagrad(parameters, lr=lr, weight_decay=decay)
    return library.Adadelta(parameters, lr=lr, weight_decay=decay)


def build_scheduler(config: TrainConfig, optimizer: optim.Optimizer, library=optim):
    """The learning-rate schedule the config names (stepped once per epoch), or None.

    ``library`` as in :func:`build_optimizer`. PyTorch has no ``InverseTimeLR``; the
    ``inverse-time`` schedule there is the same 1 / (1 + epoch) as a ``LambdaLR``.
    """
    schedulers = library.lr_scheduler
    kind = config.schedule
    if kind == "none":
        return None
    if kind == "step":
        return schedulers.StepLR(optimizer, step_size=max(1, config.epochs // 3), gamma=0.1)
    if kind == "exponential":
        return schedulers.ExponentialLR(optimizer, gamma=0.95)
    if kind == "cosine":
        return schedulers.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if kind == "plateau":
        return schedulers.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    if kind == "warmup":
        return schedulers.LinearLR(optimizer, start_factor=0.1, total_iters=min(5, config.epochs))
    if not hasattr(schedulers, "InverseTimeLR"):
        return schedulers.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + epoch))
    return schedulers.InverseTimeLR(optimizer, decay=1.0)


def load_data(config: TrainConfig):
    """Load the data set, split off validation data and cast to the run's dtype."""
    from mytorch.data import train_val_split
    from mytorch.datasets import load_dataset

    data = load_dataset(
        config.dataset, root=config.data_dir, download=config.download, dtype=np.dtype(config.dtype)
    )
    X_train, y_train, X_val, y_val = train_val_split(
        data.X_train, data.y_train, val_fraction=config.val_fraction, rng=config.seed, stratify=True
    )
    return data, (X_train, y_train), (X_val, y_val)


def _scaling(config: TrainConfig, X_train: np.ndarray) -> dict[str, list[float]] | None:
    if not config.standardize:
        return None
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std < 1e-8] = 1.0  # a constant pixel stays as it is instead of dividing by 0
    return {"mean": mean.tolist(), "std": std.tolist()}


def apply_scaling(X: np.ndarray, scaling: dict[str, list[float]] | None) -> np.ndarray:
    """Standardise ``X`` with the training statistics stored in the model's metadata."""
    if not scaling:
        return X
    mean = np.asarray(scaling["mean"], dtype=X.dtype)
    std = np.asarray(scaling["std"], dtype=X.dtype)
    return (X - mean) / std


# ------------------------------------------------------------------ checkpoints
def _generators(model: nn.Module, trainer: Trainer) -> list[np.random.Generator]:
    gens = [trainer.rng]
    gens += [
        m.rng for m in model.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)
    ]
    return gens


class _Checkpoint(Callback):
    """Save everything needed to resume after every epoch (atomically)."""

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


class _EpochPrinter(Callback):
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


def _progress_bar(enabled: bool, epoch_of: Any):
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


# ------------------------------------------------------------------ commands
def train(
    config: TrainConfig, *, resume: bool = False, progress: bool = True, stream: Any = None
) -> dict[str, Any]:
    """Run ``mytorch train``; return the report (also written to the run directory)."""
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
    scaling = state["scaling"] if state else _scaling(config, X_train)
    X_train, X_val = apply_scaling(X_train, scaling), apply_scaling(X_val, scaling)
    X_test = apply_scaling(data.X_test, scaling)
    model = build_model(config, X_train.shape[1], data.n_classes)
    optimizer = build_optimizer(config, list(model.parameters()))
    scheduler = build_scheduler(config, optimizer)
    callbacks: list[Callback] = [_EpochPrinter(config.epochs, stream)]
    if config.diagnostics:
        from mytorch.tools.diagnostics import Diagnostics

        callbacks.append(Diagnostics())
    if config.early_stopping:
        callbacks.append(EarlyStopping(patience=config.early_stopping))
    callbacks.append(_Checkpoint(checkpoint_path, config, scaling))
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
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
        from mytorch.trainer import History

        trainer.history = History.from_dict(state["history"])
        trainer.epoch, trainer.step_count = state["epoch"], state["step"]
        for generator, saved_state in zip(_generators(model, trainer), state["rng"], strict=True):
            generator.bit_generator.state = saved_state
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", asdict(config))
    remaining = config.epochs - trainer.epoch
    print(
        f"MyTorch {mytorch.__version__}: {data.name} ({len(X_train)} train / {len(X_val)} val "
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
    mytorch.save(model, out / "model.npz", metadata=metadata)
    _write_history(out, history)
    report = _evaluate(model, X_test, data.y_test, list(data.classes))
    report.update(
        {
            "dataset": data.name,
            "epochs_run": len(trainer.history),
            "train_seconds": round(train_seconds, 2),
            "best_epoch": history["best_epoch"],
        }
    )
    _write_json(out / "report.json", report)
    pictures = _draw(out, history, report, list(data.classes), f"{data.name}: {_describe(config)}")
    _print_report(report, list(data.classes), stream)
    if config.diagnostics:
        pictures += _report_diagnostics(out, trainer.history.diagnostics, stream)
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
    return report


def _report_diagnostics(out: Path, records: list, stream: Any) -> list[str]:
    """Print the diagnostics table and advice; save diagnostics.json and .png."""
    from mytorch.tools.diagnostics import format_table, plot_diagnostics, save_report

    report = save_report(records, out / "diagnostics.json")
    print(f"\n{format_table(records)}", file=stream)
    for line in report["summary"]:
        print(f"  - {line}", file=stream)
    files = ["diagnostics.json"]
    if records:
        try:
            plot_diagnostics(records, out / "diagnostics.png", title="Diagnostics per layer")
            files.append("diagnostics.png")
        except ImportError as error:
            print(f"(no diagnostics picture: {error})", file=sys.stderr)
    return files


def toy(
    config: TrainConfig,
    *,
    frames: int = 10,
    n_samples: int = 400,
    noise: float = 0.1,
    gif: bool = False,
    stream: Any = None,
) -> dict[str, Any]:
    """Run ``mytorch toy``: train on a 2-D data set, saving the decision boundary as it moves.

    Writes ``boundary_000.png``, ``boundary_001.png``, ... (epoch 0 to the last, evenly
    spaced) and, with ``gif``, ``boundary.gif`` into ``config.out``; returns the
    accuracies on the training points and on fresh points, and the files written.
    """
    from mytorch.datasets.toy import make_toy
    from mytorch.tools.viz import BoundaryFrames, accuracy, frame_epochs, save_gif

    # Looked up now, not bound at import: a test or notebook may have replaced sys.stdout.
    stream = sys.stdout if stream is None else stream
    config.validate()
    out = Path(config.out)
    X, y = make_toy(config.dataset, n_samples, noise, rng=config.seed)
    X_test, y_test = make_toy(config.dataset, n_samples, noise, rng=config.seed + 1)
    model = build_model(config, 2, 2)
    hidden = "-".join(str(h) for h in config.hidden) or "none"
    drawer = BoundaryFrames(
        X, y, out, frame_epochs(config.epochs, frames), title=f"{config.dataset}, hidden {hidden}"
    )
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        build_optimizer(config, list(model.parameters())),
        callbacks=[drawer],
        rng=config.seed,
    )
    print(
        f"MyTorch {mytorch.__version__}: {config.dataset} ({n_samples} points, noise "
        f"{noise:g}), {_describe(config)}",
        file=stream,
    )
    trainer.fit(X.astype(config.dtype), y, epochs=config.epochs, batch_size=config.batch_size)
    files = [path.name for path in drawer.paths]
    if gif:
        made = save_gif(drawer.paths, out / "boundary.gif")
        if made is None:
            print("(no GIF: Pillow is not installed)", file=sys.stderr)
        else:
            files.append(made.name)
    result = {
        "dataset": config.dataset,
        "train_accuracy": accuracy(model, X, y),
        "test_accuracy": accuracy(model, X_test, y_test),
        "files": files,
    }
    print(
        f"after {config.epochs} epochs: training accuracy {result['train_accuracy']:.1%}, "
        f"accuracy on fresh points {result['test_accuracy']:.1%}",
        file=stream,
    )
    print(f"Saved to {out}/: {', '.join(files)}", file=stream)
    return result


def _describe(config: TrainConfig) -> str:
    hidden = "-".join(str(h) for h in config.hidden) or "none"
    return (
        f"hidden {hidden}, {config.activation}{', BN' if config.batch_norm else ''}, "
        f"{config.optimizer} lr {config.lr:g}, batch {config.batch_size}"
    )


def _evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray, classes: list[str]) -> dict:
    model.eval()
    logits = np.concatenate([model(X[i : i + 1000]) for i in range(0, len(X), 1000)])
    loss = float(nn.CrossEntropyLoss()(logits, y))
    predicted = np.argmax(logits, axis=1)
    matrix = confusion_matrix(y, predicted, len(classes))
    scores = precision_recall_f1(matrix)
    return {
        "test_accuracy": float(np.trace(matrix) / matrix.sum()),
        "test_loss": loss,
        "per_class": {
            name: {
                key: float(scores[key][i]) if key != "support" else int(scores[key][i])
                for key in scores
            }
            for i, name in enumerate(classes)
        },
        "confusion_matrix": matrix.tolist(),
    }


def _draw(out: Path, history: dict, report: dict, classes: list[str], title: str) -> list[str]:
    try:
        from mytorch.tools.plots import plot_confusion_matrix, plot_learning_curves

        plot_learning_curves(history, out / "learning_curves.png", title=title)
        plot_confusion_matrix(
            np.array(report["confusion_matrix"]),
            classes,
            out / "confusion_matrix.png",
            title="Test confusion matrix",
        )
    except ImportError as error:
        print(f"(no pictures: {error})", file=sys.stderr)
        return []
    return ["learning_curves.png", "confusion_matrix.png"]


def _print_report(report: dict, classes: list[str], stream: Any) -> None:
    print(
        f"\nTest accuracy {report['test_accuracy']:.2%}, test loss {report['test_loss']:.4f}",
        file=stream,
    )
    width = max(len(c) for c in classes)
    print(f"{'class':<{width}}  precision  recall     f1  support", file=stream)
    for name in classes:
        row = report["per_class"][name]
        print(
            f"{name:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  {row['f1']:5.3f}"
            f"  {row['support']:7d}",
            file=stream,
        )
    matrix = np.array(report["confusion_matrix"])
    print("confusion matrix (rows: true, columns: predicted):", file=stream)
    for name, row in zip(classes, matrix, strict=True):
        print(f"{name:<{width}}  " + " ".join(f"{v:4d}" for v in row), file=stream)


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2)
    atomic_write(path, lambda file: file.write(text.encode()))


def _write_history(out: Path, history: dict) -> None:
    _write_json(out / "metrics.json", history)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = ["epoch", "train_loss", "train_error", "val_loss", "val_error", "lr", "seconds"]
    writer.writerow(columns)
    for i in range(len(history["epoch"])):
        writer.writerow(["" if history[c][i] is None else history[c][i] for c in columns])
    atomic_write(out / "metrics.csv", lambda file: file.write(buffer.getvalue().encode()))


def _load_model(path: str):
    target = Path(path)
    if target.is_dir():
        target = target / "model.npz"
    return mytorch.load(target, return_metadata=True)


def evaluate(
    model_path: str, dataset: str | None, data_dir: str | None, stream: Any = None
) -> dict:
    """Run ``mytorch evaluate``: accuracy, loss, per-class scores and confusion matrix."""
    stream = sys.stdout if stream is None else stream
    from mytorch.datasets import load_dataset

    model, header = _load_model(model_path)
    meta = header["metadata"]
    config = meta.get("config", {})
    # The config keeps the data set as given (a CSV's path); the metadata only its name.
    name = dataset or config.get("dataset") or meta.get("dataset", "digits")
    data = load_dataset(name, root=data_dir or config.get("data_dir"), dtype=header["dtype"])
    X = apply_scaling(data.X_test, meta.get("scaling"))
    classes = list(meta.get("classes") or data.classes)
    report = _evaluate(model, X, data.y_test, classes)
    _print_report(report, classes, stream)
    return report


def predict(model_path: str, input_path: str, output_path: str, stream: Any = None) -> None:
    """Run ``mytorch predict``: labels and class probabilities for each row, as CSV."""
    stream = sys.stdout if stream is None else stream
    from mytorch.nn.functional import softmax

    model, header = _load_model(model_path)
    meta = header["metadata"]
    X = _read_features(input_path, np.dtype(header["dtype"]))
    n_features = model[0].in_features if isinstance(model, nn.Sequential) else None
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"mytorch predict: the model takes {n_features} features, "
            f"{input_path} has {X.shape[1]} columns"
        )
    X = apply_scaling(X, meta.get("scaling"))
    probabilities = softmax(model(X), axis=1)
    classes = list(meta.get("classes") or range(probabilities.shape[1]))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["label", "class", *[f"p_{c}" for c in classes]])
    for row in probabilities:
        label = int(np.argmax(row))
        writer.writerow([label, classes[label], *(f"{p:.6g}" for p in row)])
    atomic_write(output_path, lambda file: file.write(buffer.getvalue().encode()))
    print(f"Wrote {len(probabilities)} predictions to {output_path}", file=stream)


def _read_features(path: str, dtype: np.dtype) -> np.ndarray:
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive.files:
                raise ValueError(f"mytorch predict: {path} has no array 'X'")
            X = archive["X"]
    else:
        try:
            X = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError:
            try:  # a header row
                X = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)
            except ValueError as error:
                raise ValueError(
                    f"mytorch predict: {path} is not a CSV of numbers: {error}"
                ) from None
    if X.size == 0:
        raise ValueError(f"mytorch predict: {path} holds no rows of features")
    X = X.reshape(len(X), -1).astype(dtype)
    if not np.isfinite(X).all():
        raise ValueError(f"mytorch predict: {path} contains NaN or inf")
    return X


# ------------------------------------------------------------------ argument parsing
def _read_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"mytorch train --config: no such file: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"mytorch train: {path} is not valid TOML: {error}") from None
    section = data.get("train", data)
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(section) - known
    if unknown:
        raise ValueError(
            f"mytorch train: unknown settings {sorted(unknown)} in {path}; known: {sorted(known)}"
        )
    return {key.replace("-", "_"): value for key, value in section.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mytorch",
        description="Train, evaluate and use feed-forward networks written in NumPy.",
        epilog="Run 'mytorch COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"mytorch {mytorch.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train_parser = commands.add_parser(
        "train",
        help="train an MLP and save model, metrics and pictures",
        description="Train an MLP. Defaults: the course's sample MLP (hidden 64 64 32, "
        "sigmoid, SGD lr 0.008 momentum 0.9, batch 100) on scikit-learn's 8x8 "
        "digits. Settings: defaults < --config FILE < flags.",
    )
    add = train_parser.add_argument
    defaults = TrainConfig()
    add("--config", metavar="FILE", help="TOML file with settings ([train] table or top level)")
    data = train_parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        default=None,
        help=f"digits, mnist, fashion-mnist, or a .csv/.npz path [{defaults.dataset}]",
    )
    data.add_argument("--data-dir", default=None, help="directory with the IDX files")
    data.add_argument(
        "--download",
        action="store_true",
        default=None,
        help="download MNIST/Fashion-MNIST if missing (needs pooch)",
    )
    data.add_argument(
        "--val-fraction",
        type=float,
        default=None,
        help=f"share of training data held out [{defaults.val_fraction}]",
    )
    data.add_argument(
        "--standardize",
        action="store_true",
        default=None,
        help="standardise features with training statistics",
    )
    model = train_parser.add_argument_group("model")
    model.add_argument(
        "--hidden",
        type=int,
        nargs="*",
        default=None,
        metavar="UNITS",
        help=f"hidden layer sizes [{' '.join(map(str, defaults.hidden))}]",
    )
    model.add_argument(
        "--activation", choices=sorted(ACTIVATIONS), default=None, help=f"[{defaults.activation}]"
    )
    model.add_argument(
        "--batch-norm",
        action="store_true",
        default=None,
        help="BatchNorm1d after every hidden Linear",
    )
    model.add_argument("--dropout", type=float, default=None, help="dropout probability [0]")
    model.add_argument(
        "--init",
        choices=INITS,
        default=None,
        help="weight init: PyTorch's default, the course's N(0, 1), the notes' "
        "Gaussian(0, 1/m), Xavier or Kaiming [course]",
    )
    model.add_argument(
        "--dtype", choices=("float32", "float64"), default=None, help=f"[{defaults.dtype}]"
    )
    training = train_parser.add_argument_group("training")
    training.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=None, help=f"[{defaults.optimizer}]"
    )
    training.add_argument("--lr", type=float, default=None, help=f"learning rate [{defaults.lr}]")
    training.add_argument(
        "--momentum", type=float, default=None, help=f"SGD/RMSprop momentum [{defaults.momentum}]"
    )
    training.add_argument("--weight-decay", type=float, default=None, help="L2 penalty [0]")
    training.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=None,
        help="learning-rate schedule, stepped per epoch [none]",
    )
    training.add_argument("--epochs", type=int, default=None, help=f"[{defaults.epochs}]")
    training.add_argument("--batch-size", type=int, default=None, help=f"[{defaults.batch_size}]")
    training.add_argument(
        "--early-stopping",
        type=int,
        default=None,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better val loss and restore the best weights",
    )
    training.add_argument(
        "--input-noise",
        type=float,
        default=None,
        metavar="SIGMA",
        help="Gaussian noise added to training inputs [0]",
    )
    training.add_argument(
        "--max-grad-norm", type=float, default=None, help="clip the global gradient norm"
    )
    training.add_argument("--seed", type=int, default=None, help=f"[{defaults.seed}]")
    output = train_parser.add_argument_group("output")
    output.add_argument("--out", default=None, help=f"run directory [{defaults.out}]")
    output.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its checkpoint"
    )
    output.add_argument("--no-progress", action="store_true", help="no progress bar")
    output.add_argument(
        "--diagnostics",
        action="store_true",
        default=None,
        help="record per-layer weight/gradient norms, update ratios, "
        "saturated and dead units; print advice, save "
        "diagnostics.json and diagnostics.png",
    )

    _add_toy_parser(commands)

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="accuracy, loss, per-class scores and confusion matrix of a model",
        description="Evaluate a saved model on the test split of a data set.",
    )
    evaluate_parser.add_argument("model", help="model.npz or a run directory")
    evaluate_parser.add_argument(
        "--dataset", default=None, help="data set (default: the one it was trained on)"
    )
    evaluate_parser.add_argument("--data-dir", default=None)
    evaluate_parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")

    predict_parser = commands.add_parser(
        "predict",
        help="write predicted labels and probabilities to CSV",
        description="Predict with a saved model. Input: a CSV of feature rows (optional "
        "header) or an .npz with an array 'X'.",
    )
    predict_parser.add_argument("model", help="model.npz or a run directory")
    predict_parser.add_argument("--input", required=True, help="CSV or .npz of features")
    predict_parser.add_argument("--output", required=True, help="CSV to write")

    from mytorch.integrations.sweep import add_arguments as add_sweep_arguments

    add_sweep_arguments(
        commands.add_parser(
            "sweep",
            help="run a grid or random search of train runs on Dask",
            description="Run every run of a sweep file as a Dask task (needs dask[distributed]).",
        )
    )
    return parser


def _add_toy_parser(commands: Any) -> None:
    from mytorch.datasets.toy import TOY_DATASETS

    toy_parser = commands.add_parser(
        "toy",
        help="train on a 2-D toy data set and save its decision boundary over epochs",
        description="Train an MLP on a 2-D data set (blobs, xor, moons, circles, spirals) "
        "and save pictures of its decision boundary from epoch 0 to the last: "
        "boundary_000.png, boundary_001.png, ... (and boundary.gif with --gif). "
        "--hidden with no sizes trains a network without a hidden layer.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = toy_parser.add_argument
    add("--dataset", choices=TOY_DATASETS, default="xor", help="which 2-D problem")
    add("--n-samples", type=int, default=400, help="number of points")
    add("--noise", type=float, default=0.1, help="std of Gaussian noise on each coordinate")
    add("--hidden", type=int, nargs="*", default=[8], metavar="UNITS", help="hidden layer sizes")
    add("--activation", choices=sorted(ACTIVATIONS), default="tanh", help="hidden activation")
    add("--init", choices=INITS, default="xavier", help="weight initialisation")
    add("--optimizer", choices=OPTIMIZERS, default="sgd", help="optimiser")
    add("--lr", type=float, default=0.1, help="learning rate")
    add("--momentum", type=float, default=0.9, help="SGD/RMSprop momentum")
    add("--epochs", type=int, default=200, help="training epochs")
    add("--batch-size", type=int, default=32, help="mini-batch size")
    add("--frames", type=int, default=10, help="number of pictures, epoch 0 to the last")
    add("--seed", type=int, default=0, help="seeds the data, weights and shuffling")
    add("--out", default="runs/toy", help="directory for the pictures")
    add("--gif", action="store_true", help="also join the frames into boundary.gif (Pillow)")


def _train_config(args: argparse.Namespace) -> TrainConfig:
    settings: dict[str, Any] = {}
    if args.config:
        settings.update(_read_toml(args.config))
    for item in fields(TrainConfig):
        value = getattr(args, item.name, None)
        if value is not None:
            settings[item.name] = value
    if getattr(args, "resume", False) and "epochs" not in settings:
        # Resuming without --epochs: train() continues to the checkpoint's planned epochs
        # and validates the checkpoint's settings.
        return TrainConfig(**{**settings, "epochs": 0})
    return TrainConfig(**settings).validate()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mytorch`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            train(_train_config(args), resume=args.resume, progress=not args.no_progress)
        elif args.command == "toy":
            toy(
                TrainConfig(
                    dataset=args.dataset,
                    hidden=args.hidden,
                    activation=args.activation,
                    init=args.init,
                    optimizer=args.optimizer,
                    lr=args.lr,
                    momentum=args.momentum,
                    epochs=args.epochs,
                    batch_size=args.batch_size,
                    seed=args.seed,
                    out=args.out,
                ),
                frames=args.frames,
                n_samples=args.n_samples,
                noise=args.noise,
                gif=args.gif,
            )
        elif args.command == "evaluate":
            report = evaluate(args.model, args.dataset, args.data_dir)
            if args.json:
                _write_json(Path(args.json), report)
        elif args.command == "sweep":
            from mytorch.integrations.sweep import run_from_args

            return run_from_args(args)
        else:
            predict(args.model, args.input, args.output)
    except TrainingDivergedError as error:
        print(f"mytorch: training stopped: {error}", file=sys.stderr)
        return 3
    except (ValueError, TypeError, FileNotFoundError, ModelFileError, ImportError) as error:
        print(f"mytorch {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
