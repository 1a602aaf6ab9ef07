"""What the page draws of a session: heat-maps of the output and of every unit, weights.

The network is run (in evaluation mode) on a grid of points over the data: the output's
P(class 1) on a fine grid is the decision-boundary picture, and every input feature's
and hidden unit's value on a coarse grid is that unit's small picture. Values go to the
page as bytes (0 to 255 for -1 to 1, base64), a few kilobytes a picture.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from mytorch.datasets.features import feature_map
from mytorch.nn.functional import softmax

__all__ = ["OUTPUT_GRID", "UNIT_GRID", "data_points", "extent", "frame", "layer_outputs"]

#: Grid points per axis of the output's picture and of each unit's.
OUTPUT_GRID = 48
UNIT_GRID = 20


def extent(points: np.ndarray) -> float:
    """Half the side of the square drawn: the data's reach plus a margin, in halves."""
    return math.ceil((float(np.abs(points).max(initial=1.0)) + 0.2) * 2) / 2


def _grid(half: float, size: int) -> np.ndarray:
    """Cell centres of a size x size grid over [-half, half]^2, row 0 at the top."""
    centres = (np.arange(size) + 0.5) / size * 2 * half - half
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


def _bytes(values: np.ndarray) -> str:
    """Values in [-1, 1] as base64 bytes 0..255 (clipped)."""
    scaled = np.rint((np.clip(values, -1.0, 1.0) + 1.0) * 127.5)
    return base64.b64encode(np.nan_to_num(scaled, nan=127.0).astype(np.uint8).tobytes()).decode()


def layer_outputs(model: Any, inputs: np.ndarray) -> list[np.ndarray]:
    """The output of every layer for ``inputs``: each hidden layer's (after its batch
    norm, activation and dropout) and the logits. A layer starts at each module that
    declares ``in_features`` (a Linear), as the diagnostics number them."""
    chain = model.forward_chain()
    outputs, value = [], inputs
    for position, (_, module) in enumerate(chain):
        value = module(value)
        following = chain[position + 1][1] if position + 1 < len(chain) else None
        if following is None or "in_features" in following.get_config():
            outputs.append(np.array(value, copy=True))
    return outputs


def _drawable(values: np.ndarray) -> list:
    """Rounded, with NaN as 0 and inf as +-1e6 (JSON has neither)."""
    return np.round(np.nan_to_num(values, nan=0.0, posinf=1e6, neginf=-1e6), 4).tolist()


def _weights(model: Any) -> list[dict[str, Any]]:
    """Every Linear's weight (out, in) and bias, rounded for drawing."""
    found = []
    for _, module in model.forward_chain():
        if "in_features" in module.get_config():
            bias = module.bias
            found.append(
                {
                    "weight": _drawable(module.weight.data),
                    "bias": None if bias is None else _drawable(bias.data),
                }
            )
    return found


def data_points(session: Any) -> dict[str, Any]:
    """The training and test points and their classes (sent once per run)."""
    return {
        "extent": extent(np.concatenate([session.points, session.test_points])),
        "train": np.round(session.points, 4).tolist(),
        "train_labels": session.labels.tolist(),
        "test": np.round(session.test_points, 4).tolist(),
        "test_labels": session.test_labels.tolist(),
    }


def frame(session: Any) -> dict[str, Any]:
    """Everything the page redraws after some steps.

    Returns
    -------
    dict
        ``type: "frame"``, the session's :meth:`~Session.status`, ``output`` (the fine
        grid's P(class 1), scaled to [-1, 1]), ``units`` (per layer: one coarse picture
        per input feature, then per hidden unit) and ``weights`` (per Linear).
    """
    with session.lock:
        config = session.config
        model = session.trainer.model
        half = extent(np.concatenate([session.points, session.test_points]))
        fine = feature_map(_grid(half, OUTPUT_GRID), config.features).astype(config.dtype)
        coarse = feature_map(_grid(half, UNIT_GRID), config.features).astype(config.dtype)
        was_training = model.training
        model.eval()
        try:
            with np.errstate(all="ignore"):
                logits = np.asarray(model(fine), dtype=np.float64)
                layers = layer_outputs(model, coarse)
        except ValueError:  # NaN inside a diverged network: draw it grey
            logits = np.full((len(fine), 2), np.nan)
            layers = []
        finally:
            model.train(was_training)
        with np.errstate(all="ignore"):
            probability = softmax(np.nan_to_num(logits), axis=1)[:, 1]
        scale = np.abs(coarse).max(axis=0)
        inputs = [_bytes(column / max(s, 1e-12)) for column, s in zip(coarse.T, scale, strict=True)]
        hidden = [[_bytes(unit) for unit in layer.T] for layer in layers[:-1]]
        return {
            "type": "frame",
            **session.status(),
            "output": _bytes(np.where(np.isnan(logits[:, 0]), np.nan, 2 * probability - 1)),
            "output_grid": OUTPUT_GRID,
            "unit_grid": UNIT_GRID,
            "units": [inputs, *hidden],
            "weights": _weights(model),
        }
