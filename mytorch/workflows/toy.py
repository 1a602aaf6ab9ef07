"""``mytorch toy``: train on a 2-D data set and save its decision boundary as it moves."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mytorch import nn
from mytorch.config import TrainConfig
from mytorch.trainer import Trainer
from mytorch.version import __version__
from mytorch.workflows.build import build_model, build_optimizer
from mytorch.workflows.report import describe

__all__ = ["toy"]


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
    spaced) and, with ``gif``, ``boundary.gif`` into ``config.out``.

    Parameters
    ----------
    config : TrainConfig
        ``dataset`` is a toy data set's name (``mytorch.datasets.toy.TOY_DATASETS``);
        the network and its training as for ``mytorch train`` (no schedule, no
        validation split).
    frames : int
        Number of pictures.
    n_samples : int
        Points of the training set (and of the fresh test set).
    noise : float
        Std of the Gaussian noise on each coordinate.
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
        f"MyTorch {__version__}: {config.dataset} ({n_samples} points, noise "
        f"{noise:g}), {describe(config)}",
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
