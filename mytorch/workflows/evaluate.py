"""``mytorch evaluate`` and ``mytorch predict``, and the test report of a model.

A saved model carries what it needs to be used again (``mytorch.save``'s metadata):
its class names, the input features it computes from 2-D points (``mytorch toy`` and
the playground), the pre-processing fitted on its training data (``scaling``: centring,
standardising, PCA or whitening, :func:`mytorch.workflows.build.fit_scaling`), and the
run's config, which names the data set it came from.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mytorch import nn
from mytorch.datasets.features import feature_map
from mytorch.datasets.toy import TOY_DATASETS
from mytorch.metrics import confusion_matrix, precision_recall_f1
from mytorch.serialization import atomic_write, load
from mytorch.workflows.build import apply_scaling, scaling_parts
from mytorch.workflows.report import print_report

__all__ = ["evaluate", "load_model", "predict", "score"]

#: Rows per forward pass when scoring (bounds the memory of the activations).
_CHUNK = 1000


def score(model: nn.Module, X: np.ndarray, y: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, loss, per-class precision/recall/F1 and confusion matrix of ``model``.

    Parameters
    ----------
    model : mytorch.nn.Module
        A classifier returning logits; it is put in evaluation mode.
    X : ndarray of shape (N, D)
        Inputs, already scaled.
    y : ndarray of shape (N,)
        Class indices.
    classes : list of str
        The class names, C of them.

    Returns
    -------
    dict
        ``test_accuracy``, ``test_loss`` (cross-entropy), ``per_class`` (name ->
        precision, recall, f1, support) and ``confusion_matrix`` (C x C, rows true).
    """
    model.eval()
    logits = np.concatenate([model(X[i : i + _CHUNK]) for i in range(0, len(X), _CHUNK)])
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


def load_model(path: str) -> tuple[nn.Module, dict]:
    """Load ``path`` (a model file, or a run directory holding ``model.npz``).

    Returns
    -------
    model : mytorch.nn.Module
    header : dict
        The file's header: ``dtype`` and ``metadata`` among others.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "model.npz"
    return load(target, return_metadata=True)


def evaluate(
    model_path: str, dataset: str | None, data_dir: str | None, stream: Any = None
) -> dict:
    """Run ``mytorch evaluate``: accuracy, loss, per-class scores and confusion matrix.

    Parameters
    ----------
    model_path : str
        A model file or a run directory.
    dataset : str or None
        The data set whose test split to use; default the one the model was trained on.
    data_dir : str or None
        Where its files are; default the training run's.
    stream : file-like, optional
        Where the report is printed (default ``sys.stdout``, looked up when called).

    Returns
    -------
    dict
        The report, as :func:`score` makes it.
    """
    stream = sys.stdout if stream is None else stream
    from mytorch.datasets import load_dataset

    model, header = load_model(model_path)
    meta = header["metadata"]
    config = meta.get("config", {})
    # The config keeps the data set as given (a CSV's path); the metadata only its name.
    name = dataset or config.get("dataset") or meta.get("dataset", "digits")
    names: Sequence[str]
    if name in TOY_DATASETS and name == config.get("dataset"):
        X_test, y_test, names = _toy_test_points(config, header["dtype"])
    else:
        data = load_dataset(name, root=data_dir or config.get("data_dir"), dtype=header["dtype"])
        X_test, y_test, names = data.X_test, data.y_test, data.classes
    X = apply_scaling(_features(X_test, meta, "mytorch evaluate"), meta.get("scaling"))
    classes = list(meta.get("classes") or names)
    report = score(model, X, y_test, classes)
    print_report(report, classes, stream)
    return report


def predict(model_path: str, input_path: str, output_path: str, stream: Any = None) -> None:
    """Run ``mytorch predict``: labels and class probabilities for each row, as CSV.

    Parameters
    ----------
    model_path : str
        A model file or a run directory.
    input_path : str
        A CSV of feature rows (an optional header row) or an ``.npz`` with an array
        ``X`` of shape (N, D).
    output_path : str
        The CSV to write: ``label``, ``class`` and ``p_<class>`` for each class.
    stream : file-like, optional
        Where the one-line summary is printed (default ``sys.stdout``).

    Raises
    ------
    ValueError
        If the input is not numbers, is empty, holds NaN or inf, or has another number
        of features than the model takes.
    """
    stream = sys.stdout if stream is None else stream
    from mytorch.nn.functional import softmax

    model, header = load_model(model_path)
    meta = header["metadata"]
    X = _features(_read_features(input_path, np.dtype(header["dtype"])), meta, "mytorch predict")
    # The pre-processing says how many features it takes, else the first module that
    # runs does (a Linear).
    scaling = meta.get("scaling")
    n_features = (
        len(scaling_parts(scaling)["mean"])
        if scaling
        else model.forward_chain()[0][1].get_config().get("in_features")
    )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"mytorch predict: the model takes {n_features} features, "
            f"{input_path} has {X.shape[1]} columns"
        )
    X = apply_scaling(X, scaling)
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


def _features(X: np.ndarray, meta: dict, where: str) -> np.ndarray:
    """The model's inputs: ``X`` itself, or the features its metadata names of the 2-D
    points ``X`` (a model of ``mytorch toy`` or the playground)."""
    names = meta.get("features")
    if not names:
        return X
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{where}: the model computes its inputs {names} from 2-D points (x1, x2); "
            f"expected 2 columns, got {X.shape[-1]}"
        )
    return feature_map(X, names)


def _toy_test_points(config: dict, dtype: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The fresh test points of the toy run ``config`` (a model's saved settings)."""
    from mytorch.toy_config import ToyConfig
    from mytorch.workflows.toy import toy_data

    _, (X, y) = toy_data(ToyConfig(**config))
    return X.astype(dtype), y, ["0", "1"]


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
