"""Pictures of what a network has learned on 2-D data: its decision boundary.

A classifier of 2-D points splits the plane into regions, one per class; the line
between them is its decision boundary. A network without a hidden layer can only draw
a straight line (the notes' linear separator); each hidden layer lets it bend. Watching
the boundary move epoch by epoch (:class:`BoundaryFrames`, ``mytorch toy``) shows
training as it happens: the weights turn, and the regions follow.

Needs matplotlib (imported only when a picture is drawn); GIFs need Pillow, which
matplotlib depends on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mytorch.nn.functional import sigmoid, softmax
from mytorch.trainer import Callback

__all__ = ["BoundaryFrames", "accuracy", "decision_boundary", "frame_epochs", "save_gif"]


def _outputs(model: Any, points: np.ndarray) -> np.ndarray:
    """The model's outputs on ``points`` (N, 2) in evaluation mode, as float64 (N, C)."""
    was_training = getattr(model, "training", False)
    # A mytorch Module says its dtype; anything else callable gets float64.
    dtype = getattr(model, "parameter_dtype", lambda: np.float64)()
    model.eval()
    try:
        output = np.asarray(model(points.astype(dtype)), dtype=np.float64)
    finally:
        model.train(was_training)
    return output.reshape(len(points), -1)


def _scores(output: np.ndarray) -> np.ndarray:
    """P(class 1) for one logit or two classes, else the predicted class, (N,)."""
    if output.shape[1] == 1:
        return sigmoid(output[:, 0])
    if output.shape[1] == 2:
        return softmax(output, axis=1)[:, 1]
    return np.argmax(output, axis=1).astype(np.float64)


def _predict(output: np.ndarray) -> np.ndarray:
    """The predicted class of each row of outputs, (N,) int."""
    if output.shape[1] == 1:
        return (output[:, 0] > 0).astype(np.int64)
    return np.argmax(output, axis=1)


def accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Share of the points ``X`` (N, 2) whose predicted class equals ``y`` (N,)."""
    return float(np.mean(_predict(_outputs(model, np.asarray(X, dtype=np.float64))) == y))


def decision_boundary(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    ax: Any = None,
    path: str | os.PathLike | None = None,
    resolution: int = 200,
    title: str | None = None,
    padding: float = 0.5,
) -> Any:
    """Draw the regions a classifier of 2-D points assigns to each class, with the data.

    The model is evaluated (in evaluation mode, then put back in its mode) on a
    ``resolution`` x ``resolution`` grid covering the data plus ``padding``. For two
    classes the background shows P(class 1) from blue (0) to red (1) and a black line
    where it is 0.5: the decision boundary. For more classes it shows the predicted class.

    Parameters
    ----------
    model : Module
        Maps (N, 2) inputs to (N, C) class scores (logits), or (N, 1) for one logit.
    X : numpy.ndarray
        Points, shape (N, 2).
    y : numpy.ndarray
        Their classes, shape (N,), integers.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    path : str or path-like, optional
        Save the figure as a PNG there.
    resolution : int
        Grid points per axis (>= 2).
    title : str, optional
        Axes title; default: the model's accuracy on (X, y).
    padding : float
        Margin around the data, in data units.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        If ``X`` is not (N, 2), ``y`` not (N,) or ``resolution`` < 2.

    Examples
    --------
    >>> from mytorch import nn
    >>> from mytorch.datasets.toy import make_toy
    >>> X, y = make_toy("blobs", 50, rng=0)
    >>> ax = decision_boundary(nn.Sequential(nn.Linear(2, 2, rng=0)), X, y)  # doctest: +SKIP
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary: expected X of shape (N, 2), got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"decision_boundary: expected y of shape ({len(X)},), got {y.shape}")
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, (int, np.integer))
        or resolution < 2
    ):
        raise ValueError(f"decision_boundary: expected resolution an int >= 2, got {resolution!r}")
    from mytorch.tools.plots import _pyplot, _save

    plt = _pyplot()
    own_figure = ax is None
    if own_figure:
        figure, ax = plt.subplots(figsize=(5, 4.5))
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    scores = _scores(_outputs(model, np.column_stack([grid_x.ravel(), grid_y.ravel()])))
    scores = scores.reshape(grid_x.shape)
    n_classes = int(max(y.max(initial=0) + 1, 2))
    if n_classes == 2:
        ax.contourf(
            grid_x,
            grid_y,
            scores,
            levels=np.linspace(0, 1, 11),
            cmap="RdBu_r",
            alpha=0.6,
            vmin=0,
            vmax=1,
        )
        if scores.min() < 0.5 < scores.max():
            ax.contour(grid_x, grid_y, scores, levels=[0.5], colors="black", linewidths=1.5)
    else:
        ax.contourf(
            grid_x, grid_y, scores, levels=np.arange(n_classes + 1) - 0.5, cmap="tab10", alpha=0.4
        )
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y,
        cmap="RdBu_r" if n_classes == 2 else "tab10",
        edgecolors="black",
        linewidths=0.5,
        s=18,
        vmin=0,
        vmax=n_classes - 1,
    )
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is None:
        title = f"accuracy {accuracy(model, X, y):.1%}"
    ax.set_title(title)
    if path is not None:
        figure = ax.figure
        figure.tight_layout()
        _save(figure, path)
    if own_figure and path is not None:
        plt.close(ax.figure)
    return ax


def frame_epochs(epochs: int, frames: int) -> list[int]:
    """Epochs at which to draw ``frames`` pictures of a run of ``epochs``: 0 (before
    training) to ``epochs``, evenly spaced, without repeats."""
    if frames < 1 or epochs < 0:
        raise ValueError(
            f"frame_epochs: expected frames >= 1 and epochs >= 0, got {frames} and {epochs}"
        )
    if frames == 1:
        return [epochs]
    return sorted({int(round(e)) for e in np.linspace(0, epochs, frames)})


class BoundaryFrames(Callback):
    """A Trainer callback that saves the decision boundary at chosen epochs.

    Frames are named ``{prefix}_000.png``, ``{prefix}_001.png``, ... in order; epoch 0
    (if asked for) is drawn before the first epoch.

    Parameters
    ----------
    X, y : numpy.ndarray
        The 2-D points (N, 2) and classes (N,) to draw.
    out_dir : str or path-like
        Directory for the PNGs (created).
    epochs : sequence of int
        When to draw, e.g. ``frame_epochs(200, 10)``.
    prefix : str
        File name prefix.
    resolution : int
        Grid points per axis.
    title : str
        Put before "epoch E: accuracy A" in each frame's title.

    Attributes
    ----------
    paths : list of pathlib.Path
        The files written, in order.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        out_dir: str | os.PathLike,
        epochs: Sequence[int],
        prefix: str = "boundary",
        resolution: int = 150,
        title: str = "",
    ) -> None:
        self.X, self.y = X, y
        self.out_dir = Path(out_dir)
        self.epochs = sorted(set(int(e) for e in epochs))
        self.prefix = prefix
        self.resolution = resolution
        self.title = title
        self.paths: list[Path] = []

    def draw(self, model: Any, epoch: int) -> Path:
        """Save the boundary of ``model`` now, as the next frame; return its path."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{self.prefix}_{len(self.paths):03d}.png"
        head = f"{self.title}: " if self.title else ""
        decision_boundary(
            model,
            self.X,
            self.y,
            path=path,
            resolution=self.resolution,
            title=f"{head}epoch {epoch}, accuracy {accuracy(model, self.X, self.y):.1%}",
        )
        self.paths.append(path)
        return path

    def on_train_begin(self, trainer: Any) -> None:
        if trainer.epoch in self.epochs and trainer.epoch == 0 and not self.paths:
            self.draw(trainer.model, 0)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if epoch in self.epochs:
            self.draw(trainer.model, epoch)


def save_gif(
    paths: Sequence[str | os.PathLike], gif_path: str | os.PathLike, duration_ms: int = 400
) -> Path | None:
    """Join PNG frames into an animated GIF (looping); return its path.

    Returns None, writing nothing, if Pillow is not installed.
    """
    try:
        from PIL import Image
    except ImportError:
        return None
    if not paths:
        raise ValueError("save_gif: expected at least one frame")
    images = [Image.open(p).convert("RGB") for p in paths]
    # All frames must share one size; bbox_inches="tight" can differ by a pixel or two.
    size = images[0].size
    images = [im if im.size == size else im.resize(size) for im in images]
    gif_path = Path(gif_path)
    images[0].save(gif_path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return gif_path
