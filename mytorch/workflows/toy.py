"""``mytorch toy``: train on a 2-D data set and save its decision boundary as it moves.

The run is the one the playground (``mytorch playground``) trains step by step: the same
points (:func:`toy_data`), input features, network, loss and optimiser, batches drawn in
the same order, so that the model this command saves is the one the page exports when
it reaches the same epoch.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mytorch.datasets.features import feature_map
from mytorch.nn.module import Module
from mytorch.serialization import save
from mytorch.tools.viz import BoundaryFrames, accuracy, frame_epochs, save_gif
from mytorch.toy_config import ToyConfig
from mytorch.trainer import Trainer
from mytorch.version import __version__
from mytorch.workflows.build import build_model, build_optimizer, build_scheduler
from mytorch.workflows.report import describe
from mytorch.workflows.targets import two_class_loss

__all__ = [
    "FeatureBoundaryFrames",
    "PointsModel",
    "model_metadata",
    "toy",
    "toy_data",
    "toy_trainer",
]


def toy_data(config: ToyConfig) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """The run's points: ``n_samples`` to train on and ``test_samples`` fresh ones.

    Parameters
    ----------
    config : ToyConfig
        ``dataset``, ``n_samples``, ``test_samples`` (None: as many as ``n_samples``),
        ``noise`` and ``seed`` (the training points; the test points use seed + 1).

    Returns
    -------
    train, test : tuple of ndarray
        ``(X, y)`` each: raw points (N, 2) float64 and classes (N,) int64.
    """
    from mytorch.datasets.toy import make_toy

    n_test = config.n_samples if config.test_samples is None else config.test_samples
    train = make_toy(config.dataset, config.n_samples, config.noise, rng=config.seed)
    test = make_toy(config.dataset, n_test, config.noise, rng=config.seed + 1)
    return train, test


class PointsModel:
    """A model of features, called on raw 2-D points: the feature map, then the model.

    What the decision-boundary pictures draw (they evaluate a model on a grid of
    points). It has the few things they ask of a model: calling, ``train``/``eval``,
    ``training`` and ``parameter_dtype``.

    Parameters
    ----------
    model : Module
        Takes ``len(features)`` inputs.
    features : list of str
        Names of :data:`mytorch.datasets.features.FEATURES`.
    """

    def __init__(self, model: Module, features: list[str]) -> None:
        self.model, self.features = model, list(features)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return self.model(feature_map(points, self.features))

    @property
    def training(self) -> bool:
        """Whether the model is in training mode."""
        return self.model.training

    def train(self, mode: bool = True) -> PointsModel:
        """Put the model in training mode (``mode=False``: evaluation); return self."""
        self.model.train(mode)
        return self

    def eval(self) -> PointsModel:
        """Put the model in evaluation mode; return self."""
        return self.train(False)

    def parameter_dtype(self) -> np.dtype:
        """The dtype of the model's parameters."""
        return self.model.parameter_dtype()


class FeatureBoundaryFrames(BoundaryFrames):
    """:class:`~mytorch.tools.viz.BoundaryFrames` of a model of input features.

    Parameters
    ----------
    features : list of str
        The model's input features; the other arguments are ``BoundaryFrames``'.
    """

    def __init__(self, features: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.features = features

    def draw(self, model: Any, epoch: int) -> Path:
        return super().draw(PointsModel(model, self.features), epoch)


def toy_trainer(config: ToyConfig, callbacks: Any = ()) -> tuple[Trainer, Any]:
    """The network, loss, optimiser and schedule of a toy run, in a :class:`Trainer`.

    Returns
    -------
    trainer : Trainer
        Its ``model`` takes ``len(config.features)`` inputs and ends in two logits.
    loss : mytorch.workflows.targets.TwoClassLoss
        The loss and the targets it takes (``loss.targets(y)``).
    """
    model = build_model(config, len(config.features), 2)
    loss = two_class_loss(config.loss)
    optimizer = build_optimizer(config, list(model.parameters()))
    steps_per_epoch = -(-config.n_samples // config.batch_size)
    trainer = Trainer(
        model,
        loss.criterion,
        optimizer,
        scheduler=build_scheduler(config, optimizer, steps_per_epoch=steps_per_epoch),
        schedule_interval=config.schedule_interval,
        callbacks=callbacks,
        rng=config.seed,
    )
    return trainer, loss


def model_metadata(config: ToyConfig) -> dict[str, Any]:
    """What a saved toy model records: classes, data set, input features, the settings.

    ``mytorch predict`` and ``evaluate`` apply ``features`` to raw points.
    """
    return {
        "classes": ["0", "1"],
        "dataset": config.dataset,
        "features": list(config.features),
        "config": asdict(config),
    }


def toy(
    config: ToyConfig, *, frames: int = 10, gif: bool = False, stream: Any = None
) -> dict[str, Any]:
    """Run ``mytorch toy``: train on a 2-D data set, saving the decision boundary as it moves.

    Writes ``boundary_000.png``, ``boundary_001.png``, ... (epoch 0 to the last, evenly
    spaced), ``model.npz`` (``mytorch.load``; its metadata holds the input features
    and settings) and, with ``gif``, ``boundary.gif`` into ``config.out``.

    Parameters
    ----------
    config : ToyConfig
        ``dataset`` is a toy data set's name (``mytorch.datasets.toy.TOY_DATASETS``);
        the points, features, loss, network and its training as :func:`toy_data` and
        :func:`toy_trainer` make them (no validation split).
    frames : int
        Number of pictures.
    gif : bool
        Also join the frames into ``boundary.gif`` (needs Pillow).
    stream : file-like, optional
        Where to print (default ``sys.stdout``, looked up when called).

    Returns
    -------
    dict
        ``dataset``, ``train_accuracy``, ``test_accuracy`` (on fresh points) and
        ``files`` (the names written).
    """
    # Looked up now, not bound at import: a test or notebook may have replaced sys.stdout.
    stream = sys.stdout if stream is None else stream
    config.validate()
    out = Path(config.out)
    (X, y), (X_test, y_test) = toy_data(config)
    hidden = "-".join(str(h) for h in config.hidden) or "none"
    drawer = FeatureBoundaryFrames(
        config.features,
        X,
        y,
        out,
        frame_epochs(config.epochs, frames),
        title=f"{config.dataset}, hidden {hidden}",
    )
    trainer, loss = toy_trainer(config, callbacks=[drawer])
    print(
        f"MyTorch {__version__}: {config.dataset} ({config.n_samples} points, noise "
        f"{config.noise:g}), {describe(config)}",
        file=stream,
    )
    inputs = feature_map(X, config.features).astype(config.dtype)
    trainer.fit(inputs, loss.targets(y), epochs=config.epochs, batch_size=config.batch_size)
    model = PointsModel(trainer.model, config.features)
    save(trainer.model, out / "model.npz", metadata=model_metadata(config))
    files = [path.name for path in drawer.paths] + ["model.npz"]
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
