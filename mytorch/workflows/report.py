"""What a run leaves behind: the printed report and the run directory's JSON, CSV and
pictures.

Every file is written atomically (:func:`mytorch.serialization.atomic_write`): an
interrupted run never leaves half a file. Pictures need matplotlib; without it the run
says so on stderr and goes on.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mytorch.config import TrainConfig
from mytorch.serialization import atomic_write

__all__ = [
    "HISTORY_COLUMNS",
    "describe",
    "draw_learning_curves",
    "draw_pictures",
    "print_report",
    "report_diagnostics",
    "write_history",
    "write_json",
]

#: The columns of ``metrics.csv``, one row per epoch.
HISTORY_COLUMNS = ("epoch", "train_loss", "train_error", "val_loss", "val_error", "lr", "seconds")


def describe(config: TrainConfig) -> str:
    """One line about the network and its training: ``'hidden 64-64-32, sigmoid, sgd lr
    0.008, batch 100'`` (picture titles, the toy command's header)."""
    hidden = "-".join(str(h) for h in config.hidden) or "none"
    return (
        f"hidden {hidden}, {config.activation}{', BN' if config.batch_norm else ''}, "
        f"{config.optimizer} lr {config.lr:g}, batch {config.batch_size}"
    )


def print_report(report: dict, classes: list[str], stream: Any) -> None:
    """Print accuracy, loss, per-class precision/recall/F1 and the confusion matrix.

    Parameters
    ----------
    report : dict
        As :func:`mytorch.workflows.evaluate.score` returns it.
    classes : list of str
        The class names, in the order of the report's rows.
    stream : file-like
        Where to print.
    """
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


def write_json(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write ``data`` as indented JSON to ``path``, atomically (see ``atomic_write``)."""
    text = json.dumps(data, indent=2)
    atomic_write(path, lambda file: file.write(text.encode()), durable=durable)


def write_history(out: Path, history: dict, *, durable: bool = True) -> None:
    """Write the per-epoch history as ``metrics.json`` and ``metrics.csv`` into ``out``.

    Parameters
    ----------
    out : pathlib.Path
        The run directory.
    history : dict
        ``History.to_dict()``: a list per column of :data:`HISTORY_COLUMNS` (None where
        an epoch has no value, such as a validation loss without validation data).
    durable : bool
        Fsync the files (see :func:`mytorch.files.atomic_write`); the run's live
        rewrites after each epoch skip it, its final write does not.
    """
    write_json(out / "metrics.json", history, durable=durable)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HISTORY_COLUMNS)
    for i in range(len(history["epoch"])):
        writer.writerow(["" if history[c][i] is None else history[c][i] for c in HISTORY_COLUMNS])
    atomic_write(
        out / "metrics.csv", lambda file: file.write(buffer.getvalue().encode()), durable=durable
    )


def draw_learning_curves(out: Path, history: dict, title: str) -> list[str]:
    """Save ``learning_curves.png`` into ``out`` (atomically).

    Parameters
    ----------
    out : pathlib.Path
        The run directory.
    history : dict
        ``History.to_dict()``.
    title : str
        The picture's title.

    Returns
    -------
    list of str
        ``['learning_curves.png']``, or ``[]`` without matplotlib (nothing is drawn).
    """
    try:
        from mytorch.tools.plots import plot_learning_curves

        plot_learning_curves(history, out / "learning_curves.png", title=title)
    except ImportError:
        return []
    return ["learning_curves.png"]


def draw_pictures(
    out: Path, history: dict, report: dict, classes: list[str], title: str
) -> list[str]:
    """Save ``learning_curves.png`` and ``confusion_matrix.png`` into ``out``.

    Parameters
    ----------
    out : pathlib.Path
        The run directory.
    history : dict
        ``History.to_dict()``.
    report : dict
        The test report (its confusion matrix is drawn).
    classes : list of str
        The class names.
    title : str
        The learning curves' title.

    Returns
    -------
    list of str
        The file names written; none without matplotlib (said on stderr).
    """
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


def report_diagnostics(out: Path, records: list, stream: Any) -> list[str]:
    """Print the diagnostics table and advice; save diagnostics.json and .png.

    Parameters
    ----------
    out : pathlib.Path
        The run directory.
    records : list
        The per-epoch records of :class:`mytorch.tools.diagnostics.Diagnostics`.
    stream : file-like
        Where to print.

    Returns
    -------
    list of str
        The file names written (no picture without matplotlib, or without records).
    """
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
