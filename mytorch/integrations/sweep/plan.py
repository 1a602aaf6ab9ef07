"""A sweep's plan: the sweep file read and checked, and the runs it stands for.

Every run's settings are the ``[train]`` table updated with its swept values (all of
them ``mytorch train`` settings, :data:`mytorch.config.SETTINGS`), and its name is made
from them, so that the same file always gives the same runs in the same directories.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from mytorch.config import TrainConfig
from mytorch.config_file import load_toml

__all__ = ["SETTING_NAMES", "SweepSpec", "expand_runs", "load_sweep", "run_name"]

#: The settings a sweep may set or vary, in the order of ``config.json`` (and of the
#: columns of ``results.csv``); every run gets its own ``out``.
SETTING_NAMES = tuple(f.name for f in fields(TrainConfig) if f.name != "out")
_SWEEP_OPTIONS = ("n_workers", "scheduler", "out", "top")
_WHERE = "run_sweep"


@dataclass
class SweepSpec:
    """A parsed sweep file.

    Attributes
    ----------
    base : dict
        Settings shared by every run (``TrainConfig`` fields).
    grid : dict of str to list, or None
        Values to combine, in the file's order.
    random : dict or None
        ``n_trials``, ``seed`` and each setting's choices or range.
    options : dict
        The ``[sweep]`` table: ``n_workers``, ``scheduler``, ``out``, ``top``.
    """

    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] | None = None
    random: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def _check_keys(table: dict[str, Any], known: tuple[str, ...], section: str) -> dict[str, Any]:
    table = {key.replace("-", "_"): value for key, value in table.items()}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ValueError(
            f"{_WHERE}: unknown settings {unknown} in [{section}]; expected some of {sorted(known)}"
        )
    return table


def load_sweep(source: str | os.PathLike | dict[str, Any]) -> SweepSpec:
    """Read a sweep from a TOML file or a dict with the same tables.

    Parameters
    ----------
    source : str, path-like or dict
        The file, or ``{"train": {...}, "grid": {...}}`` / ``{"random": {...}}``.

    Returns
    -------
    SweepSpec

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not valid TOML; on unknown tables or settings, empty grid lists,
        both [grid] and [random], or a malformed range.
    """
    data = source if isinstance(source, dict) else load_toml(source, _WHERE)
    unknown = sorted(set(data) - {"train", "grid", "random", "sweep"})
    if unknown:
        raise ValueError(
            f"{_WHERE}: unknown tables {unknown}; expected [train], [grid] or [random], and [sweep]"
        )
    spec = SweepSpec(
        base=_check_keys(dict(data.get("train", {})), SETTING_NAMES, "train"),
        options=_check_keys(dict(data.get("sweep", {})), _SWEEP_OPTIONS, "sweep"),
    )
    if "grid" in data and "random" in data:
        raise ValueError(f"{_WHERE}: expected either [grid] or [random], got both")
    if "grid" in data:
        spec.grid = _check_keys(dict(data["grid"]), SETTING_NAMES, "grid")
        for key, values in spec.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(
                    f"{_WHERE}: expected [grid] {key} to be a non-empty list, got {values!r}"
                )
    if "random" in data:
        table = dict(data["random"])
        n_trials, seed = table.pop("n_trials", None), table.pop("seed", 0)
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(
                f"{_WHERE}: expected [random] n_trials to be a positive int, got {n_trials!r}"
            )
        ranges = _check_keys(table, SETTING_NAMES, "random")
        for key, value in ranges.items():
            if isinstance(value, dict):
                _check_range(key, value)
        spec.random = {"n_trials": n_trials, "seed": seed, "ranges": ranges}
    return spec


def _check_range(key: str, value: dict[str, Any]) -> None:
    extra = sorted(set(value) - {"low", "high", "log", "integer"})
    low, high = value.get("low"), value.get("high")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if extra or not numbers or low > high or (value.get("log") and low <= 0):
        raise ValueError(
            f"{_WHERE}: expected [random] {key} = {{low = A, high = B, "
            f"log = false, integer = false}} with A <= B (A > 0 with log), "
            f"got {value!r}"
        )


def _draw(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, list):
        return value[int(rng.integers(len(value)))]
    if not isinstance(value, dict):
        return value
    low, high = float(value["low"]), float(value["high"])
    if value.get("log"):
        drawn = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        drawn = rng.uniform(low, high)
    if value.get("integer"):
        return int(min(max(round(drawn), math.ceil(low)), math.floor(high)))
    return float(drawn)


def expand_runs(spec: SweepSpec) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The sweep's runs in a fixed order, each as ``(swept values, all settings)``.

    Every run's settings are ``base`` updated with its swept values; a random search
    draws them from ``numpy.random.default_rng(seed)``, so the same file always gives
    the same runs.
    """
    runs: list[dict[str, Any]] = []
    if spec.grid:
        keys = list(spec.grid)
        runs = [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(spec.grid[k] for k in keys))
        ]
    elif spec.random:
        rng = np.random.default_rng(spec.random["seed"])
        ranges = spec.random["ranges"]
        runs = [
            {key: _draw(value, rng) for key, value in ranges.items()}
            for _ in range(spec.random["n_trials"])
        ]
    else:
        runs = [{}]
    return [(swept, {**spec.base, **swept}) for swept in runs]


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(_short(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def run_name(swept: dict[str, Any], settings: dict[str, Any]) -> str:
    """A directory name for a run: its swept values, then a hash of all its settings.

    Examples
    --------
    >>> run_name({"lr": 0.01, "hidden": [16, 8]}, {"lr": 0.01, "hidden": [16, 8]})
    'lr=0.01_hidden=16x8_f8d3d37a'
    """
    pairs = [f"{key}={_short(value)}".replace("_", "-") for key, value in swept.items()]
    readable = re.sub(r"[^A-Za-z0-9._=+-]+", "-", "_".join(pairs))[:80] or "run"
    # The hash covers every setting, so a changed base setting never reuses a directory.
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode())
    return f"{readable}_{digest.hexdigest()[:8]}"
