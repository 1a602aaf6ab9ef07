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

Writes are atomic: the archive goes to a temporary file in the target directory,
is flushed and fsync'ed, then renamed over the target (and the directory fsync'ed),
so a crash leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mytorch.nn import registry
from mytorch.nn.module import Module
from mytorch.nn.sequential import Sequential

FORMAT = "mytorch-model"
FORMAT_VERSION = 1
_META_KEY = "__mytorch__"


class ModelFileError(ValueError):
    """A model file is missing, truncated, corrupt, of another version or edited by hand."""


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
        affine = 2 if spec.get("affine", True) else 0
        tracked = 2 if spec.get("track_running_stats", True) else 0
        return (affine + tracked) * size("num_features")
    return 0


# ---------------------------------------------------------------- checksums and atomic write
def _checksum(arrays: dict[str, np.ndarray], header: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    rest = {key: value for key, value in header.items() if key != "checksum"}
    digest.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    for key in sorted(arrays):
        array = np.asarray(arrays[key], order="C")
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> None:
    """Write a file atomically: ``write(fileobj)`` to a temp file, fsync, rename over ``path``.

    A crash at any point leaves the previous ``path`` (if any) intact. A writer killed
    mid-write (``kill -9``, power loss) leaves its temporary file ``.<name>.*.tmp``
    behind; the next successful write to the same ``path`` removes such leftovers once
    they are older than ``STALE_TEMP_SECONDS`` (younger ones may belong to a writer that
    is still running).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates the file private (0600); give it the mode open() would give.
        os.chmod(temp_name, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    _remove_stale_temps(directory, path.name)
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


#: A leftover temporary file older than this (seconds) is from a dead writer.
STALE_TEMP_SECONDS = 3600.0


def _remove_stale_temps(directory: Path, name: str) -> None:
    """Delete ``.<name>.*.tmp`` files left by killed writers, if old enough."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    for leftover in directory.glob(f".{glob.escape(name)}.*.tmp"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:  # gone already, or not ours to delete: leave it
            pass


def _umask() -> int:
    mask = os.umask(0)  # the only way to read the umask is to set it
    os.umask(mask)
    return mask


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
        "library_version": _library_version(),
        "dtype": dtypes.pop() if len(dtypes) == 1 else "float64",
        "architecture": architecture,
        "metadata": metadata or {},
    }
    try:
        # The checksum covers the header as load() will read it back (tuples as lists...).
        header = json.loads(json.dumps(header, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise TypeError(f"save: metadata must be JSON-serialisable: {error}") from None
    header["checksum"] = _checksum(arrays, header)
    meta_text = json.dumps(header)
    payload = dict(arrays)
    payload[_META_KEY] = np.array(meta_text)
    atomic_write(path, lambda file: np.savez(file, **payload))


def load(path: str | os.PathLike, *, return_metadata: bool = False):
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
    header, arrays = _read(path, where)
    version = header.get("format_version")
    if header.get("format") != FORMAT or not isinstance(version, int):
        raise ModelFileError(f"{where}: not a MyTorch model file (no valid header)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: format version {version} is newer than this MyTorch "
            f"({_library_version()}) reads (up to {FORMAT_VERSION}); upgrade mytorch"
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
    if _checksum(arrays, header) != header.get("checksum"):
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
    model.load_state_dict(arrays)
    model.eval()
    return (model, header) if return_metadata else model


def _read(path: str | os.PathLike, where: str) -> tuple[dict, dict[str, np.ndarray]]:
    try:
        # Our own handle: np.load leaves the file open when the zip is broken.
        with open(path, "rb") as handle:
            if not zipfile.is_zipfile(handle):
                raise ModelFileError(
                    f"{where}: the file is truncated or corrupt: it is not an .npz (zip) archive"
                )
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as archive:
                names = list(archive.files)
                if _META_KEY not in names:
                    raise ModelFileError(f"{where}: not a MyTorch model file (no header)")
                arrays = {name: archive[name] for name in names if name != _META_KEY}
                meta = archive[_META_KEY]
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise ModelFileError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{where}: is a directory, expected a model file") from None
    except Exception as error:  # any failure to parse untrusted bytes
        # zipfile and numpy's .npy parser raise many types on damaged input (BadZipFile,
        # EOFError, KeyError, MemoryError, tokenize.TokenError, ...): all mean "corrupt".
        raise ModelFileError(
            f"{where}: the file is truncated or corrupt ({type(error).__name__}: {error})"
        ) from None
    if meta.dtype.kind != "U" or meta.shape != ():
        raise ModelFileError(f"{where}: malformed header")
    try:
        header = json.loads(str(meta))
    except (json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{where}: header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: malformed header")
    return header, arrays


def _library_version() -> str:
    from mytorch import __version__

    return __version__


# ---------------------------------------------------------------- checkpoints (nested state)
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
    ``.npz`` + JSON like :func:`save`, with a checksum; no pickle.
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _flatten_state(state, arrays)
    header = {
        "format": _CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": _library_version(),
        "state": tree,
    }
    header = json.loads(json.dumps(header, allow_nan=True))
    header["checksum"] = _checksum(arrays, header)
    payload = dict(arrays)
    payload[_META_KEY] = np.array(json.dumps(header, allow_nan=True))
    atomic_write(path, lambda file: np.savez(file, **payload))


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a state saved by :func:`save_checkpoint` (never executes code).

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, corrupt or not a checkpoint.
    """
    where = f"load_checkpoint({os.fspath(path)!r})"
    header, arrays = _read(path, where)
    if header.get("format") != _CHECKPOINT_FORMAT:
        raise ModelFileError(f"{where}: not a MyTorch checkpoint")
    if (
        not isinstance(header.get("format_version"), int)
        or header["format_version"] > FORMAT_VERSION
    ):
        raise ModelFileError(
            f"{where}: unsupported format version {header.get('format_version')!r}"
        )
    if _checksum(arrays, header) != header.get("checksum"):
        raise ModelFileError(
            f"{where}: checksum mismatch: the arrays or the state were changed or damaged"
        )
    try:
        return _unflatten_state(header.get("state"), arrays, where)
    except (TypeError, ValueError, RecursionError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{where}: malformed checkpoint state ({error})") from None
