"""Files that are never half written, and the archive format MyTorch's files share.

:func:`atomic_write` writes to a temporary file in the target directory, flushes and
fsyncs it, then renames it over the target (and fsyncs the directory), so a crash
leaves either the old file or the new one, never a mix.

Model files (``mytorch/serialization.py``) and checkpoints (``mytorch/checkpoint.py``)
are one kind of archive: a NumPy ``.npz`` (a zip of ``.npy`` files) of named arrays plus
``__mytorch__``, a 0-d unicode array holding a JSON header with a SHA-256
:func:`checksum` over the header and every array. Reading (:func:`read_archive`) never
unpickles (``allow_pickle=False``) and turns every way untrusted bytes can be broken
into one :class:`ModelFileError`.
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

__all__ = [
    "META_KEY",
    "ModelFileError",
    "STALE_TEMP_SECONDS",
    "atomic_write",
    "checksum",
    "read_archive",
    "write_archive",
]

#: Name of the JSON header inside an archive.
META_KEY = "__mytorch__"


class ModelFileError(ValueError):
    """A model file is missing, truncated, corrupt, of another version or edited by hand."""


def checksum(arrays: dict[str, np.ndarray], header: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``header`` (less its ``"checksum"`` entry) and every array."""
    digest = hashlib.sha256()
    rest = {key: value for key, value in header.items() if key != "checksum"}
    digest.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    for key in sorted(arrays):
        array = np.asarray(arrays[key], order="C")
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def atomic_write(
    path: str | os.PathLike, write: Callable[[Any], None], *, durable: bool = True
) -> None:
    """Write a file atomically: ``write(fileobj)`` to a temp file, fsync, rename over ``path``.

    A crash at any point leaves the previous ``path`` (if any) intact. A writer killed
    mid-write (``kill -9``, power loss) leaves its temporary file ``.<name>.*.tmp``
    behind; the next successful write to the same ``path`` removes such leftovers once
    they are older than ``STALE_TEMP_SECONDS`` (younger ones may belong to a writer that
    is still running).

    ``durable=False`` skips the two fsyncs (about 10 ms on a busy disk): the rename is
    still atomic, so readers and a killed process see the old file or the new one, but
    after a power loss the file may be empty. For files rewritten again and again and
    rebuilt from a durable source (a run's live metrics, rebuilt from its checkpoint).
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
            if durable:
                os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    _remove_stale_temps(directory, path.name)
    if not durable:
        return
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


def write_archive(path: str | os.PathLike, arrays: dict[str, np.ndarray], header: dict) -> None:
    """Write ``arrays`` and ``header`` (plus its checksum) as one archive, atomically.

    ``header`` must be JSON-ready (NaN allowed); its ``"checksum"`` entry is set here.
    """
    header["checksum"] = checksum(arrays, header)
    payload = dict(arrays)
    payload[META_KEY] = np.array(json.dumps(header, allow_nan=True))
    atomic_write(path, lambda file: np.savez(file, **payload))


def read_archive(path: str | os.PathLike, where: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Read an archive of :func:`write_archive`: ``(header, arrays)``, checksum verified.

    Raises :class:`ModelFileError`, naming ``where``, when the file is missing, is not
    an archive, or its checksum does not match.
    """
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
                if META_KEY not in names:
                    raise ModelFileError(f"{where}: not a MyTorch model file (no header)")
                arrays = {name: archive[name] for name in names if name != META_KEY}
                meta = archive[META_KEY]
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
