"""Every value that arrives from the page, checked and bounded, or a clear error.

The page sends its configuration as JSON (and keeps it in its URL). :func:`parse_setup`
turns it into a :class:`~mytorch.toy_config.ToyConfig` and a training speed, refusing
anything outside the bounds below with a :class:`RequestError` that names the setting,
what was expected and what came. The bounds keep one session small (a few hundred
points, a few dozen units), so that a page cannot make the server slow or large.
Names (data sets, activations, losses, optimisers, schedules, features) come from
MyTorch's own tables: one added there is offered here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mytorch.config import ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, SCHEDULES
from mytorch.datasets.features import FEATURES
from mytorch.datasets.toy import TOY_DATASETS
from mytorch.toy_config import ToyConfig

__all__ = ["LIMITS", "DEFAULTS", "RequestError", "Setup", "options", "parse_setup"]


class RequestError(ValueError):
    """A request from the page that the server refuses; the message is shown there."""


#: The bounds of every number the page may send: (low, high), both allowed.
LIMITS: dict[str, tuple[float, float]] = {
    "points": (20, 1000),  # training and test points together
    "test_share": (0.1, 0.9),
    "noise": (0.0, 0.5),
    "layers": (0, 6),
    "units": (1, 8),
    "dropout": (0.0, 0.9),
    "lr": (1e-5, 10.0),
    "momentum": (0.0, 0.999),
    "weight_decay": (0.0, 1.0),
    "batch_size": (1, 1000),
    "epochs": (1, 10_000),
    "seed": (0, 2**31 - 1),
    "speed": (1, 2000),  # training steps per second
    "index": (0, 999),  # a training point to look inside
}

#: The page's starting configuration (TensorFlow Playground's: two small tanh layers).
DEFAULTS: dict[str, Any] = {
    "dataset": "xor",
    "points": 400,
    "test_share": 0.5,
    "noise": 0.1,
    "features": ["x1", "x2"],
    "hidden": [4, 4],
    "activation": "tanh",
    "batch_norm": False,
    "dropout": 0.0,
    "init": "xavier",
    "loss": "cross_entropy",
    "optimizer": "sgd",
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "none",
    "batch_size": 10,
    "epochs": 500,
    "seed": 0,
    "speed": 100,
}


@dataclass
class Setup:
    """A checked configuration: the run's settings and how fast to train it.

    Attributes
    ----------
    config : ToyConfig
        The run (what ``mytorch toy`` would train).
    speed : int
        Training steps per second while playing.
    page : dict
        The configuration as the page writes it (every key of :data:`DEFAULTS`).
    """

    config: ToyConfig
    speed: int
    page: dict[str, Any]


def options() -> dict[str, Any]:
    """What the page may choose from: the name tables, the bounds and the defaults."""
    return {
        "datasets": list(TOY_DATASETS),
        "features": {name: label for name, (_, label) in FEATURES.items()},
        "activations": sorted(ACTIVATIONS),
        "inits": list(INITS),
        "losses": list(LOSSES),
        "optimizers": list(OPTIMIZERS),
        "schedules": list(SCHEDULES),
        "limits": LIMITS,
        "defaults": DEFAULTS,
    }


def _number(page: dict, name: str, kind: type) -> Any:
    value = page[name]
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(f"{name}: expected a number, got {value!r}")
    if kind is int and value != int(value):
        raise RequestError(f"{name}: expected a whole number, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise RequestError(f"{name}: expected a number in [{low}, {high}], got {value!r}")
    return kind(value)


def _choice(page: dict, name: str, choices: Any) -> str:
    value = page[name]
    if not isinstance(value, str) or value not in choices:
        raise RequestError(f"{name}: expected one of {sorted(choices)}, got {value!r}")
    return value


def _flag(page: dict, name: str) -> bool:
    value = page[name]
    if not isinstance(value, bool):
        raise RequestError(f"{name}: expected true or false, got {value!r}")
    return value


def _hidden(page: dict) -> list[int]:
    value = page["hidden"]
    if not isinstance(value, list):
        raise RequestError(f"hidden: expected a list of layer sizes, got {value!r}")
    if len(value) > LIMITS["layers"][1]:
        raise RequestError(
            f"hidden: expected at most {LIMITS['layers'][1]} layers, got {len(value)}"
        )
    return [_number({"units": units}, "units", int) for units in value]


def _features(page: dict) -> list[str]:
    value = page["features"]
    if (
        not isinstance(value, list)
        or not value
        or len(set(map(str, value))) != len(value)
        or not all(isinstance(v, str) and v in FEATURES for v in value)
    ):
        raise RequestError(
            f"features: expected a non-empty list of some of {list(FEATURES)}, each once, "
            f"got {value!r}"
        )
    return list(value)


def parse_setup(page: Any) -> Setup:
    """Check the configuration the page sent and make the run's settings of it.

    Parameters
    ----------
    page : dict
        Some keys of :data:`DEFAULTS` (the others keep their defaults).

    Returns
    -------
    Setup

    Raises
    ------
    RequestError
        On an unknown key or a value of the wrong kind or out of :data:`LIMITS`.
    """
    if not isinstance(page, dict):
        raise RequestError(f"config: expected an object of settings, got {type(page).__name__}")
    unknown = sorted(set(page) - set(DEFAULTS))
    if unknown:
        raise RequestError(f"config: unknown settings {unknown}; expected some of {list(DEFAULTS)}")
    page = {**DEFAULTS, **page}
    points = _number(page, "points", int)
    test_share = _number(page, "test_share", float)
    test_samples = max(1, round(points * test_share))
    n_samples = points - test_samples
    batch_size = _number(page, "batch_size", int)
    if batch_size > n_samples:
        raise RequestError(
            f"batch_size: expected at most the {n_samples} training points, got {batch_size}"
        )
    config = ToyConfig(
        dataset=_choice(page, "dataset", TOY_DATASETS),
        n_samples=n_samples,
        test_samples=test_samples,
        noise=_number(page, "noise", float),
        features=_features(page),
        hidden=_hidden(page),
        activation=_choice(page, "activation", ACTIVATIONS),
        batch_norm=_flag(page, "batch_norm"),
        dropout=_number(page, "dropout", float),
        init=_choice(page, "init", INITS),
        loss=_choice(page, "loss", LOSSES),
        optimizer=_choice(page, "optimizer", OPTIMIZERS),
        lr=_number(page, "lr", float),
        momentum=_number(page, "momentum", float),
        weight_decay=_number(page, "weight_decay", float),
        schedule=_choice(page, "schedule", SCHEDULES),
        batch_size=batch_size,
        epochs=_number(page, "epochs", int),
        seed=_number(page, "seed", int),
    )
    try:
        config.validate()
    except ValueError as error:  # the table's own check: the message says what is wrong
        raise RequestError(str(error)) from None
    speed = _number(page, "speed", int)
    return Setup(config, speed, page)


def parse_index(value: Any, n_points: int) -> int:
    """A training point's index from the page, within ``[0, n_points)``."""
    index = _number({"index": value}, "index", int)
    if index >= n_points:
        raise RequestError(f"index: expected a training point in [0, {n_points - 1}], got {index}")
    return index


def parse_speed(value: Any) -> int:
    """Training steps per second from the page."""
    return _number({"speed": value}, "speed", int)
