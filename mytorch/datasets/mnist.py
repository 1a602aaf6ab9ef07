"""MNIST and Fashion-MNIST from their four IDX files, checked, optionally downloaded.

Both data sets are 60,000 training and 10,000 test grey-scale images of 28 x 28 pixels
in 10 classes, stored as four files (``.gz`` or uncompressed)::

    train-images-idx3-ubyte   train-labels-idx1-ubyte
    t10k-images-idx3-ubyte    t10k-labels-idx1-ubyte

Integrity checks
----------------
* Fashion-MNIST: every load checks the SHA-256 of each file's *uncompressed* content
  (header included) against the table below, so a copy recompressed by another tool
  (as Debian's ``dataset-fashion-mnist`` is) still passes. A download is also checked
  against Zalando's MD5 of the ``.gz`` file.
* MNIST: only a download is checked, against the MD5 of each official ``.gz`` file
  (the values torchvision uses). We do not know the SHA-256 of the uncompressed files
  for certain, so a copy that is already on disk is only checked for being a
  well-formed IDX file with consistent shapes and labels 0-9.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mytorch.datasets.idx import read_idx

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
MNIST_CLASSES: tuple[str, ...] = tuple(str(digit) for digit in range(10))

# (split, kind) -> file name without ".gz".
_FILES: dict[tuple[str, str], str] = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class _Source:
    """Where a data set is published and how its files are checked."""

    name: str
    mirrors: tuple[str, ...]
    gzip_md5: dict[str, str]
    content_sha256: dict[str, str] | None


_MNIST = _Source(
    name="MNIST",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    gzip_md5={
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    content_sha256=None,
)

_FASHION_MNIST = _Source(
    name="Fashion-MNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    gzip_md5={
        "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    content_sha256={
        "train-images-idx3-ubyte": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        "t10k-images-idx3-ubyte": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
)


def _download_file(url: str, directory: Path, file_name: str, md5: str) -> None:
    """Fetch ``url`` into ``directory / file_name``, verified against ``md5``.

    The only place that touches the network, so tests replace it with a fake.
    """
    try:
        import pooch
    except ImportError as err:
        raise ImportError(
            "downloading MNIST/Fashion-MNIST needs the optional package 'pooch'; install "
            "it with `pip install mytorch[cli]` (or `pip install pooch`), or put the four "
            "IDX files in the directory yourself"
        ) from err
    pooch.retrieve(
        url=url, known_hash=f"md5:{md5}", fname=file_name, path=directory, progressbar=False
    )


def _find(root: Path, stem: str) -> Path | None:
    for candidate in (root / f"{stem}.gz", root / stem):
        if candidate.is_file():
            return candidate
    return None


def _download(source: _Source, root: Path, stem: str, where: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    file_name = f"{stem}.gz"
    failures = []
    for mirror in source.mirrors:
        try:
            _download_file(mirror + file_name, root, file_name, source.gzip_md5[stem])
        except ImportError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure means: try the next mirror
            failures.append(f"{mirror}{file_name}: {type(err).__name__}: {err}")
            continue
        path = root / file_name
        if path.is_file():
            return path
        failures.append(f"{mirror}{file_name}: the download left no file")
    raise OSError(
        f"{where}: could not download {file_name} of {source.name} into {root}; tried:\n  "
        + "\n  ".join(failures)
    )


def _locate_files(source: _Source, root: Path, download: bool, where: str) -> dict[str, Path]:
    found = {stem: _find(root, stem) for stem in _FILES.values()}
    missing = [stem for stem, path in found.items() if path is None]
    if missing and not download:
        state = "does not exist" if not root.exists() else "lacks some files"
        expected = ", ".join(f"{stem}.gz" for stem in _FILES.values())
        raise FileNotFoundError(
            f"{where}: the {source.name} directory {root} {state}: missing "
            f"{', '.join(f'{stem}[.gz]' for stem in missing)}. Expected the four IDX files "
            f"{expected} (gzip-compressed or not) directly in it; pass download=True to "
            "fetch them"
        )
    for stem in missing:
        found[stem] = _download(source, root, stem, where)
    return found  # type: ignore[return-value]


def _pixel_dtype(dtype: object, where: str) -> np.dtype:
    try:
        resolved = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        resolved = None
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8)):
        raise TypeError(
            f"{where}: expected dtype float32 or float64 (pixels scaled to [0, 1]) or uint8 "
            f"(raw pixels 0-255), got {dtype!r}"
        )
    return resolved


def _load(
    source: _Source,
    root: str | os.PathLike[str],
    download: bool,
    flatten: bool,
    dtype: object,
    where: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(download, bool) or not isinstance(flatten, bool):
        raise TypeError(
            f"{where}: expected download and flatten to be True or False, got "
            f"download={download!r}, flatten={flatten!r}"
        )
    dtype = _pixel_dtype(dtype, where)
    root = Path(root).expanduser()
    paths = _locate_files(source, root, download, where)
    hashes = source.content_sha256 or {}
    result = []
    for split in ("train", "test"):
        image_path = paths[_FILES[split, "images"]]
        label_path = paths[_FILES[split, "labels"]]
        images = read_idx(image_path, ndim=3, sha256=hashes.get(_FILES[split, "images"]))
        labels = read_idx(label_path, ndim=1, sha256=hashes.get(_FILES[split, "labels"]))
        for path, array in ((image_path, images), (label_path, labels)):
            if array.dtype != np.uint8:
                raise ValueError(f"{where}: {path} holds {array.dtype} values, expected uint8")
        if images.shape[1:] != (28, 28):
            raise ValueError(
                f"{where}: {image_path} holds images of shape {images.shape[1:]}, expected (28, 28)"
            )
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{where}: {image_path} has {images.shape[0]} images but {label_path} has "
                f"{labels.shape[0]} labels"
            )
        if labels.size and labels.max() > 9:
            raise ValueError(f"{where}: {label_path} holds label {int(labels.max())}, expected 0-9")
        if flatten:
            images = images.reshape(images.shape[0], -1)
        if dtype != np.uint8:
            # Scale in place on the fresh float copy: no second full-size temporary.
            images = images.astype(dtype)
            images /= 255
        result += [images, labels.astype(np.int64)]
    return tuple(result)  # type: ignore[return-value]


def load_fashion_mnist(
    root: str | os.PathLike[str],
    download: bool = False,
    *,
    flatten: bool = True,
    dtype: np.dtype | type = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load Fashion-MNIST as ``(X_train, y_train, X_test, y_test)``, hash-checked.

    Zalando's images of clothing (MIT licence); the class names are in
    ``FASHION_MNIST_CLASSES``.

    Parameters
    ----------
    root : str or os.PathLike
        Directory holding the four IDX files (``.gz`` or uncompressed) directly, e.g.
        ``data/fashion-mnist``.
    download : bool
        Fetch missing files into ``root`` (created if needed) from Zalando's mirror,
        checked against the MD5 of each ``.gz``. Needs the optional package ``pooch``
        (``pip install mytorch[cli]``).
    flatten : bool
        Return images as rows of 784 pixels, shape (N, 784), ready for a ``Linear``
        layer; ``False`` keeps (N, 28, 28).
    dtype : numpy dtype
        ``float64`` (default) or ``float32``: pixels scaled to [0, 1]. ``uint8``: the raw
        pixel values 0-255.

    Returns
    -------
    X_train : numpy.ndarray
        Shape (60000, 784) or (60000, 28, 28), ``dtype``. In float64 it takes 376 MB;
        float32 halves that.
    y_train : numpy.ndarray
        Class indices 0-9, shape (60000,), int64.
    X_test : numpy.ndarray
        Shape (10000, 784) or (10000, 28, 28), ``dtype``.
    y_test : numpy.ndarray
        Class indices 0-9, shape (10000,), int64.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download`` is False; the message names the directory
        and the expected files.
    ValueError
        If a file is not a well-formed IDX file of the expected shape, or the SHA-256 of
        its uncompressed content is not the known one.
    TypeError
        If ``dtype`` is not float32, float64 or uint8.
    ImportError
        If a download is needed and ``pooch`` is not installed.
    OSError
        If the mirror failed to deliver a file.

    Notes
    -----
    Every load checks each file's uncompressed content against its known SHA-256, so a
    recompressed copy (Debian's ``dataset-fashion-mnist``) is accepted and a corrupt or
    different one is not.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_fashion_mnist(
    ...     "data/fashion-mnist")  # doctest: +SKIP
    >>> X_train.shape, X_train.dtype, y_train[:3]  # doctest: +SKIP
    ((60000, 784), dtype('float64'), array([9, 0, 0]))
    """
    return _load(_FASHION_MNIST, root, download, flatten, dtype, "load_fashion_mnist")


def load_mnist(
    root: str | os.PathLike[str],
    download: bool = False,
    *,
    flatten: bool = True,
    dtype: np.dtype | type = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST handwritten digits as ``(X_train, y_train, X_test, y_test)``.

    Parameters
    ----------
    root : str or os.PathLike
        Directory holding the four IDX files (``.gz`` or uncompressed) directly, e.g.
        ``data/mnist``.
    download : bool
        Fetch missing files into ``root`` (created if needed), trying the official
        mirrors in turn, each file checked against the MD5 of the official ``.gz``.
        Needs the optional package ``pooch`` (``pip install mytorch[cli]``).
    flatten : bool
        Return images as rows of 784 pixels, shape (N, 784); ``False`` keeps (N, 28, 28).
    dtype : numpy dtype
        ``float64`` (default) or ``float32``: pixels scaled to [0, 1]. ``uint8``: the raw
        pixel values 0-255.

    Returns
    -------
    X_train : numpy.ndarray
        Shape (60000, 784) or (60000, 28, 28), ``dtype``.
    y_train : numpy.ndarray
        Digits 0-9, shape (60000,), int64.
    X_test : numpy.ndarray
        Shape (10000, 784) or (10000, 28, 28), ``dtype``.
    y_test : numpy.ndarray
        Digits 0-9, shape (10000,), int64.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download`` is False; the message names the directory
        and the expected files.
    ValueError
        If a file is not a well-formed IDX file of 28 x 28 uint8 images or uint8
        labels 0-9, or images and labels differ in number.
    TypeError
        If ``dtype`` is not float32, float64 or uint8.
    ImportError
        If a download is needed and ``pooch`` is not installed.
    OSError
        If every mirror failed to deliver a file.

    Notes
    -----
    Only downloads are hash-checked (MD5 of the official ``.gz`` files). We do not know
    the SHA-256 of the uncompressed files for certain, so files already on disk are
    checked for structure only (shapes, counts, labels), not for content.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_mnist("data/mnist", download=True)  # doctest: +SKIP
    >>> X_train.shape, y_test.shape  # doctest: +SKIP
    ((60000, 784), (10000,))
    """
    return _load(_MNIST, root, download, flatten, dtype, "load_mnist")
