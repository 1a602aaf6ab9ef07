"""Saving and loading models: ``.npz`` arrays plus JSON metadata, never pickle.

File format (version 1)
-----------------------
One NumPy ``.npz`` archive (a zip of ``.npy`` files) holding

* one array per ``state_dict()`` entry, under the same dotted key (``0.weight``, ...);
* ``__mytorch__``: a 0-d unicode array holding a JSON document::

    {"format": "mytorch-model", "format_version": 1, "library_version": "0.1.0",
     "dtype": "float64", "architecture": {...}, "checksum": "<sha256 hex>",
     "metadata": {...user data...}}

``architecture`` describes the module tree as plain data (class name + constructor
settings, e.g. ``{"type": "Linear", "in_features": 784, "out_features": 128,
"bias": true}``, ``mytorch.nn.registry``); only the classes listed in
``registry.MODULE_TYPES`` can be named, so loading
builds modules from a whitelist and never runs code from the file. ``checksum`` is
the SHA-256 over the rest of the header (as canonical JSON: sorted keys, no spaces)
followed by every array's key, dtype, shape and bytes in key order, so a damaged
array and a hand-edited architecture or metadata are both caught.

Writes are atomic (``mytorch/files.py``): a crash leaves either the old file or the new
one, never a mix. Checkpoints of a training run (``mytorch/checkpoint.py``) use the same
archive; their functions, ``atomic_write`` and ``ModelFileError`` are importable from
here as well.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from mytorch.checkpoint import load_checkpoint, save_checkpoint
from mytorch.files import (
    ModelFileError,
    atomic_write,
    checksum,
    read_archive,
    write_archive,
)
from mytorch.nn import registry
from mytorch.nn.module import Module
from mytorch.nn.sequential import Sequential
from mytorch.version import __version__

FORMAT = "mytorch-model"
FORMAT_VERSION = 1

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFileError",
    "atomic_write",
    "describe",
    "load",
    "load_checkpoint",
    "save",
    "save_checkpoint",
]

# Old private name, used by the fuzz tests to forge files with valid checksums.
_checksum = checksum


# ---------------------------------------------------------------- architecture as data
def describe(module: Module) -> dict[str, Any]:
    """Return the architecture of ``module`` as JSON-ready data (see module docstring)."""
    try:
        return registry.spec(module)
    except TypeError:
        activations = ", ".join(registry.ACTIVATION_TYPES)
        raise TypeError(
            f"save: cannot describe a {_first_unregistered(module)}; models of "
            f"nn.Sequential, nn.Linear, nn.BatchNorm1d, nn.Dropout and activations "
            f"({activations}) can be saved (convert a course MLP with mlp.to_sequential())"
        ) from None


def _first_unregistered(module: Module) -> str:
    for _, sub in module.named_modules():
        if not registry.is_registered(sub):
            return type(sub).__name__
    return type(module).__name__


def _build(spec: Any, dtype: np.dtype, where: str) -> Module:
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ModelFileError(f"{where}: malformed architecture entry {spec!r}")
    kind = spec["type"]
    if kind not in registry.MODULE_TYPES:
        raise ModelFileError(f"{where}: unknown layer type {kind!r} in the architecture")
    if kind == "Sequential":
        modules = spec.get("modules")
        if not isinstance(modules, list) or set(spec) != {"type", "modules"}:
            raise ModelFileError(f"{where}: malformed Sequential entry")
        return Sequential(*(_build(m, dtype, where) for m in modules))
    try:
        return registry.build(spec, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{where}: invalid settings for {kind}: {error}") from None


#: Deepest nesting of Sequential containers a model file may declare.
_MAX_NESTING = 32


def _declared_size(spec: Any, where: str, depth: int = 0) -> int:
    """How many numbers building ``spec`` allocates (0 for entries ``_build`` rejects).

    Checked before ``_build`` so that a forged header (``in_features=10**9``) is refused
    instead of allocating gigabytes, and so that nesting cannot exhaust the stack.
    """
    if depth > _MAX_NESTING:
        raise ModelFileError(
            f"{where}: the architecture is nested more than {_MAX_NESTING} levels deep"
        )
    if not isinstance(spec, dict):
        return 0

    def size(key: str) -> int:
        value = spec.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    kind = spec.get("type")
    if kind == "Sequential" and isinstance(spec.get("modules"), list):
        return sum(_declared_size(module, where, depth + 1) for module in spec["modules"])
    if kind == "Linear":
        bias = size("out_features") if spec.get("bias", True) is True else 0
        return size("in_features") * size("out_features") + bias
    if kind == "BatchNorm1d":
        affine = (1 + (spec.get("bias", True) is not False)) if spec.get("affine", True) else 0
        tracked = 2 if spec.get("track_running_stats", True) else 0
        return (affine + tracked) * size("num_features")
    return 0


# ---------------------------------------------------------------- public API
def save(model: Module, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Save ``model`` (architecture, weights, buffers) to ``path`` atomically.

    Parameters
    ----------
    model : Module
        An ``nn.Sequential`` (or single layer) of MyTorch's built-in layers.
    path : str or path-like
        Target file; ``.npz`` is the conventional extension (nothing is appended).
    metadata : dict, optional
        JSON-serialisable extra data stored with the model (class names, config, ...).

    Examples
    --------
    >>> import mytorch
    >>> from mytorch import nn
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> mytorch.save(nn.Sequential(nn.Linear(2, 2, rng=0), nn.ReLU()), path)
    >>> mytorch.load(path)
    Sequential(
      (0): Linear(in_features=2, out_features=2, bias=True)
      (1): ReLU()
    )
    """
    if not isinstance(model, Module):
        raise TypeError(f"save: expected a Module, got {type(model).__name__}")
    architecture = describe(model)
    arrays = {k: np.asarray(v, order="C") for k, v in model.state_dict().items()}
    dtypes = {str(v.dtype) for v in arrays.values() if v.dtype.kind == "f"}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "dtype": dtypes.pop() if len(dtypes) == 1 else "float64",
        "architecture": architecture,
        "metadata": metadata or {},
    }
    try:
        # The checksum covers the header as load() will read it back (tuples as lists...).
        header = json.loads(json.dumps(header, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise TypeError(f"save: metadata must be JSON-serialisable: {error}") from None
    write_archive(path, arrays, header)


def load(path: str | os.PathLike, *, return_metadata: bool = False) -> Any:
    """Load a model saved by :func:`save`; never executes code from the file.

    Parameters
    ----------
    path : str or path-like
        The file.
    return_metadata : bool
        Also return the stored header (a dict with ``metadata``, ``library_version``...).

    Returns
    -------
    Module or (Module, dict)
        The model in eval mode, with its saved dtype.

    Raises
    ------
    ModelFileError
        (a ``ValueError``) if the file is missing, not a MyTorch model, truncated,
        corrupt, of an unknown format version, or its arrays do not match its checksum.
    """
    where = f"load({os.fspath(path)!r})"
    header, arrays = read_archive(path, where)
    version = header.get("format_version")
    if header.get("format") != FORMAT or not isinstance(version, int):
        raise ModelFileError(f"{where}: not a MyTorch model file (no valid header)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: format version {version} is newer than this MyTorch "
            f"({__version__}) reads (up to {FORMAT_VERSION}); upgrade mytorch"
        )
    dtype_name = header.get("dtype")
    if dtype_name not in ("float32", "float64"):
        raise ModelFileError(f"{where}: unsupported dtype {dtype_name!r}")
    # Building allocates what the header declares: never more than the file holds.
    declared = _declared_size(header.get("architecture"), where)
    held = sum(array.size for array in arrays.values())
    if declared > held:
        raise ModelFileError(
            f"{where}: the architecture declares {declared} parameters and buffers but the "
            f"file holds only {held} numbers; the header was changed or damaged"
        )
    model = _build(header.get("architecture"), np.dtype(dtype_name), where)
    if checksum(arrays, header) != header.get("checksum"):
        raise ModelFileError(
            f"{where}: checksum mismatch: the arrays or the header were changed or damaged"
        )
    expected = model.state_dict()
    if set(expected) != set(arrays):
        raise ModelFileError(
            f"{where}: arrays {sorted(arrays)} do not match the architecture "
            f"(expected {sorted(expected)})"
        )
    for key, target in expected.items():
        value = arrays[key]
        if value.shape != target.shape or value.dtype != target.dtype:
            raise ModelFileError(
                f"{where}: '{key}' is {value.dtype}{list(value.shape)}, the architecture "
                f"needs {target.dtype}{list(target.shape)}"
            )
    _check_numbers(arrays, where)
    _check_chain(model, where)
    model.load_state_dict(arrays)
    model.eval()
    return (model, header) if return_metadata else model


def _check_numbers(arrays: dict[str, np.ndarray], where: str) -> None:
    """A model that loads predicts finite numbers: no NaN or inf, no negative variance."""
    for key, value in arrays.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ModelFileError(f"{where}: '{key}' holds NaN or inf values")
        if key.rsplit(".", 1)[-1] == "running_var" and np.any(value < 0):
            raise ModelFileError(f"{where}: '{key}' holds a negative variance")


def _chain(module: Module) -> list[Module]:
    """The modules a forward pass runs, in order, nested Sequentials opened."""
    chain = []
    for _, child in module.forward_chain():
        chain.extend([child] if child is module else _chain(child))
    return chain


def _check_chain(model: Module, where: str) -> None:
    """Each layer that declares its width takes what the one before it gives."""
    width, before = None, None
    for module in _chain(model):
        config = module.get_config()
        takes = config.get("in_features", config.get("num_features"))
        if takes is not None and width is not None and takes != width:
            raise ModelFileError(
                f"{where}: the layers do not chain: a {type(module).__name__} taking "
                f"{takes} features follows a {before} giving {width}"
            )
        if takes is not None:
            width, before = config.get("out_features", takes), type(module).__name__
