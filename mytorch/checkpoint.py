"""Checkpoints of a training run: nested state (dicts, lists, numbers, arrays) in one file.

A run's checkpoint holds the model's and optimiser's ``state_dict()``, the scheduler's,
the history and the random generators' states, so that a resumed run continues exactly.
It is the archive of ``mytorch/files.py`` (arrays plus a checksummed JSON header, written
atomically, never pickled) with the state tree in the header and its arrays beside it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from mytorch.files import ModelFileError, checksum, read_archive, write_archive
from mytorch.version import __version__

__all__ = ["load_checkpoint", "save_checkpoint"]

#: The checkpoints' version of the archive format.
FORMAT_VERSION = 1

_CHECKPOINT_FORMAT = "mytorch-checkpoint"


def _flatten_state(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Replace every ndarray in a nested structure by a reference into ``arrays``."""
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value, order="C")
        return {"__array__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_flatten_state(k, arrays), _flatten_state(v, arrays)] for k, v in value.items()
            ]
        }
    if isinstance(value, tuple):
        return {"__tuple__": [_flatten_state(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_flatten_state(v, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save_checkpoint: cannot store a {type(value).__name__} ({value!r})")


def _unflatten_state(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(value, list):
        return [_unflatten_state(v, arrays, where) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            if value["__array__"] not in arrays:
                raise ModelFileError(f"{where}: missing array {value['__array__']!r}")
            return arrays[value["__array__"]]
        if set(value) == {"__tuple__"}:
            return tuple(_unflatten_state(v, arrays, where) for v in value["__tuple__"])
        if set(value) == {"__dict__"}:
            return {
                _unflatten_state(k, arrays, where): _unflatten_state(v, arrays, where)
                for k, v in value["__dict__"]
            }
        raise ModelFileError(f"{where}: malformed checkpoint entry")
    return value


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Save a nested training state (dicts, lists, tuples, numbers, strings, arrays).

    Used for resumable runs: the model's and optimiser's ``state_dict()``, the
    scheduler's, the history and random-generator states. Written atomically as
    ``.npz`` + JSON like :func:`mytorch.save`, with a checksum; no pickle.
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _flatten_state(state, arrays)
    header = {
        "format": _CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "state": tree,
    }
    header = json.loads(json.dumps(header, allow_nan=True))
    write_archive(path, arrays, header)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a state saved by :func:`save_checkpoint` (never executes code).

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, corrupt or not a checkpoint.
    """
    where = f"load_checkpoint({os.fspath(path)!r})"
    header, arrays = read_archive(path, where)
    if header.get("format") != _CHECKPOINT_FORMAT:
        raise ModelFileError(f"{where}: not a MyTorch checkpoint")
    if (
        not isinstance(header.get("format_version"), int)
        or header["format_version"] > FORMAT_VERSION
    ):
        raise ModelFileError(
            f"{where}: unsupported format version {header.get('format_version')!r}"
        )
    if checksum(arrays, header) != header.get("checksum"):
        raise ModelFileError(
            f"{where}: checksum mismatch: the arrays or the state were changed or damaged"
        )
    try:
        return _unflatten_state(header.get("state"), arrays, where)
    except (TypeError, ValueError, RecursionError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{where}: malformed checkpoint state ({error})") from None
