"""Pictures of a training run (needs matplotlib: ``pip install mytorch[cli]``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from mytorch.serialization import atomic_write


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'mytorch[cli]'") from error
    return plt


def _save(figure: Any, path: str | os.PathLike) -> None:
    atomic_write(
        path, lambda file: figure.savefig(file, format="png", dpi=150, bbox_inches="tight")
    )


def plot_learning_curves(
    history: dict[str, Any], path: str | os.PathLike, title: str = "Learning curves"
) -> None:
    """Draw training/validation loss and error per epoch side by side; save a PNG.

    Parameters
    ----------
    history : dict
        ``History.to_dict()``: lists ``epoch``, ``train_loss``, ``val_loss``,
        ``train_error``, ``val_error`` (``None`` where missing).
    path : str or path-like
        Output file.
    title : str
        Figure title.
    """
    plt = _pyplot()
    epochs = np.asarray(history["epoch"])
    figure, (loss_axis, error_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, label in (
        (loss_axis, "loss", "Loss (cross-entropy)"),
        (error_axis, "error", "Error rate"),
    ):
        for split, style in (("train", "-o"), ("val", "-s")):
            values = np.array(
                [np.nan if v is None else v for v in history[f"{split}_{key}"]], dtype=float
            )
            if np.all(np.isnan(values)):
                continue
            name = "training" if split == "train" else "validation"
            axis.plot(epochs, values, style, markersize=3, label=name)
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # no "epoch 2.5"
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        axis.legend()
    best = history.get("best_epoch")
    if best:
        for axis in (loss_axis, error_axis):
            axis.axvline(best, color="grey", linestyle="--", linewidth=1)
    error_axis.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str],
    path: str | os.PathLike,
    title: str = "Confusion matrix",
) -> None:
    """Draw a confusion matrix (rows: true class, columns: predicted), row-normalised colours
    with counts written in each cell; save a PNG."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    n = len(class_names)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.6 * n + 2)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of the true class")
    axis.set_xticks(range(n), labels=class_names, rotation=45, ha="right")
    axis.set_yticks(range(n), labels=class_names)
    axis.set_xlabel("Predicted class")
    axis.set_ylabel("True class")
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                axis.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black",
                )
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axis.set_title(f"{title} (accuracy {accuracy:.2%})")
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)
