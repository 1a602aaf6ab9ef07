"""Tests for ``mytorch/plots.py``: the pictures are real PNGs of a sensible size."""

from __future__ import annotations

import numpy as np

from mytorch.datasets.mnist import FASHION_MNIST_CLASSES  # noqa: E402
from mytorch.tools.plots import plot_confusion_matrix, plot_learning_curves  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_valid_png(path, min_side: int = 300, max_side: int = 4000) -> np.ndarray:
    """The file starts with the PNG signature, matplotlib reads it back, and its size is
    that of a readable figure; returns the pixels."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert min_side <= height <= max_side and min_side <= width <= max_side, pixels.shape
    assert pixels.std() > 0.01, "the picture is blank"
    return pixels


def _history(epochs: int = 6, *, with_val: bool = True, best: int | None = None) -> dict:
    losses = list(np.linspace(2.0, 0.3, epochs))
    errors = list(np.linspace(0.8, 0.05, epochs))
    return {
        "epoch": list(range(1, epochs + 1)),
        "train_loss": losses,
        "train_error": errors,
        "val_loss": [v + 0.1 for v in losses] if with_val else [None] * epochs,
        "val_error": [v + 0.02 for v in errors] if with_val else [None] * epochs,
        "lr": [0.1] * epochs,
        "seconds": [0.5] * epochs,
        "stopped_epoch": None,
        "best_epoch": best,
    }


def test_learning_curves_are_a_png(tmp_path):
    path = tmp_path / "curves.png"
    plot_learning_curves(_history(), path, title="digits: test")
    pixels = assert_valid_png(path)
    assert pixels.shape[1] > pixels.shape[0], "loss and error side by side: wider than tall"


def test_learning_curves_without_validation_or_with_a_best_epoch(tmp_path):
    plot_learning_curves(_history(with_val=False), tmp_path / "a.png")
    plot_learning_curves(_history(best=3), tmp_path / "b.png")
    assert_valid_png(tmp_path / "a.png")
    assert_valid_png(tmp_path / "b.png")


def test_learning_curves_of_a_single_epoch(tmp_path):
    plot_learning_curves(_history(1), tmp_path / "one.png")
    assert_valid_png(tmp_path / "one.png")


def test_confusion_matrix_is_a_png(tmp_path):
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 50, (10, 10)) + np.diag(rng.integers(100, 900, 10))
    plot_confusion_matrix(matrix, list(FASHION_MNIST_CLASSES), tmp_path / "cm.png", title="Test")
    assert_valid_png(tmp_path / "cm.png")


def test_confusion_matrix_with_an_empty_class(tmp_path):
    matrix = np.array([[5, 1, 0], [0, 0, 0], [2, 0, 7]])
    plot_confusion_matrix(matrix, ["a", "b", "c"], tmp_path / "cm.png")
    assert_valid_png(tmp_path / "cm.png")


def test_plots_leave_no_open_figures_or_temp_files(tmp_path):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    plot_learning_curves(_history(), tmp_path / "c.png")
    plot_confusion_matrix(np.eye(3, dtype=int), ["a", "b", "c"], tmp_path / "m.png")
    assert len(plt.get_fignums()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "m.png"]
