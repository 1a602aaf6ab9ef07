"""The IDX file format of MNIST and Fashion-MNIST, read safely.

An IDX file is a big-endian header followed by the array's bytes::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d (MNIST: 3 for images, 1 for labels)
    then        d big-endian uint32 sizes, then prod(sizes) elements in C order

so images start with the magic number 0x00000803 and labels with 0x00000801. The files
are usually distributed gzip-compressed; ``read_idx`` detects that by the gzip magic
bytes, not by the file name.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 20
# Deflate cannot compress better than about 1032:1, so a gzip file of n bytes holds at
# most ~1032 n bytes; a header claiming more is corrupt, whatever the stream says.
_MAX_GZIP_RATIO = 1032


def _read_exact(stream: BinaryIO, n_bytes: int, path: Path, what: str) -> bytes:
    """Read exactly ``n_bytes`` (a small header field) or raise a ValueError naming ``path``."""
    data = stream.read(n_bytes)
    if len(data) != n_bytes:
        raise ValueError(
            f"read_idx: {path} is truncated: its header ends inside the {what} "
            f"(needed {n_bytes} bytes, found {len(data)})"
        )
    return data


def _read_payload(stream: BinaryIO, n_bytes: int) -> tuple[bytearray, bool]:
    """Read up to ``n_bytes`` in chunks; also report whether more data follows.

    The buffer grows with what the file really holds, never with what the header
    claims, so a corrupt header cannot trigger a huge allocation.
    """
    payload = bytearray()
    while len(payload) < n_bytes:
        chunk = stream.read(min(_CHUNK_BYTES, n_bytes - len(payload)))
        if not chunk:
            break
        payload += chunk
    has_more = bool(stream.read(1))
    return payload, has_more


def _parse(
    stream: BinaryIO,
    path: Path,
    stored_bytes: int,
    compressed: bool,
    ndim: int | None,
    sha256: str | None,
) -> np.ndarray:
    magic = _read_exact(stream, 4, path, "magic number")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
        raise ValueError(
            f"read_idx: {path} is not an IDX file: magic number 0x{magic.hex()} should be "
            "0x0000TTDD with type byte TT in "
            f"{{{', '.join(f'0x{code:02X}' for code in _IDX_TYPES)}}} (0x08 = uint8) and "
            "DD the number of dimensions (0x00000803 for images, 0x00000801 for labels)"
        )
    dtype = _IDX_TYPES[magic[2]]
    n_dims = magic[3]
    if n_dims == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions (magic 0x{magic.hex()})")
    if ndim is not None and n_dims != ndim:
        raise ValueError(
            f"read_idx: {path} has {n_dims} dimensions (magic 0x{magic.hex()}), "
            f"expected {ndim} (magic 0x{magic[:3].hex()}{ndim:02x})"
        )
    dims_bytes = _read_exact(stream, 4 * n_dims, path, f"{n_dims} dimension sizes")
    shape = tuple(int(size) for size in np.frombuffer(dims_bytes, dtype=">u4"))
    n_bytes = math.prod(shape) * dtype.itemsize
    header_bytes = 4 + 4 * n_dims
    if not compressed and stored_bytes - header_bytes != n_bytes:
        # Raw file: its size says exactly how much data there is; compare before reading.
        found = stored_bytes - header_bytes
        problem = "is truncated" if found < n_bytes else "has extra bytes"
        raise ValueError(
            f"read_idx: {path} {problem}: its header declares shape {shape} of "
            f"{dtype.newbyteorder('=').name} ({n_bytes} data bytes) but the file holds "
            f"{found} bytes after the {header_bytes}-byte header"
        )
    if compressed and n_bytes > _MAX_GZIP_RATIO * stored_bytes + 1024:
        raise ValueError(
            f"read_idx: {path} has a corrupt header: it declares shape {shape} "
            f"({n_bytes} bytes), more than a {stored_bytes}-byte gzip file can hold"
        )
    payload, has_more = _read_payload(stream, n_bytes)
    if len(payload) != n_bytes or has_more:
        held = f"only {len(payload)}" if len(payload) < n_bytes else "more than that"
        problem = "is truncated" if len(payload) < n_bytes else "has extra bytes"
        raise ValueError(
            f"read_idx: {path} {problem}: its header declares shape {shape} "
            f"({n_bytes} data bytes) but the decompressed file holds {held}"
        )
    if sha256 is not None:
        digest = hashlib.sha256(magic + dims_bytes)
        digest.update(payload)
        if digest.hexdigest() != sha256.lower():
            raise ValueError(
                f"read_idx: {path} failed its integrity check: the SHA-256 of its "
                f"uncompressed content is {digest.hexdigest()}, expected {sha256.lower()}; "
                "the file is corrupt or a different version: delete it and get it again"
            )
    try:
        array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    except ValueError as err:
        # An empty axis makes the data 0 bytes whatever the other sizes claim; NumPy
        # still refuses axes whose product overflows its index type.
        raise ValueError(
            f"read_idx: {path} has a corrupt header: shape {shape} cannot be held by a "
            f"NumPy array ({err})"
        ) from None
    # Multi-byte types arrive big-endian; hand out native byte order. uint8 needs no copy
    # (and the bytearray makes it writable).
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(
    path: str | os.PathLike[str], *, ndim: int | None = None, sha256: str | None = None
) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Compression is detected from the gzip magic bytes ``1f 8b``.
    ndim : int or None
        Required number of dimensions (3 for image files, 1 for label files); ``None``
        accepts any.
    sha256 : str or None
        Expected SHA-256 (hex) of the *uncompressed* content, header included.

    Returns
    -------
    numpy.ndarray
        Shape as declared in the header, e.g. (60000, 28, 28) uint8 for images or
        (60000,) uint8 for labels; native byte order, writable.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        Naming the file and what is wrong: an empty file, a magic number that is not IDX
        (wrong zero bytes or unknown type byte), 0 or unexpected dimensions, a header cut
        short, data shorter or longer than the header declares, a corrupt gzip stream, or
        a SHA-256 mismatch.

    Notes
    -----
    The data are never allocated from the header's claim alone: a raw file's size is
    checked against the declared shape before reading, and a gzip stream is read in
    1 MiB chunks up to the declared size (which must also be plausible for the
    compressed size), so a corrupt header gives a ValueError, not a MemoryError.

    Examples
    --------
    >>> labels = read_idx("fashion-mnist/train-labels-idx1-ubyte.gz", ndim=1)  # doctest: +SKIP
    >>> labels.shape, labels.dtype  # doctest: +SKIP
    ((60000,), dtype('uint8'))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: no such file: {path}")
    if ndim is not None and (isinstance(ndim, bool) or not isinstance(ndim, int) or ndim < 1):
        raise ValueError(f"read_idx: expected ndim to be a positive int or None, got {ndim!r}")
    stored_bytes = path.stat().st_size
    if stored_bytes == 0:
        raise ValueError(f"read_idx: {path} is empty (0 bytes); expected an IDX file")
    with path.open("rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _parse(raw, path, stored_bytes, False, ndim, sha256)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _parse(stream, path, stored_bytes, True, ndim, sha256)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(
                f"read_idx: {path} is not a valid gzip file (corrupt or truncated download?): {err}"
            ) from err
