"""Tests for mytorch/datasets: IDX reader, (Fashion-)MNIST, digits, CSV, npz, load_dataset."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import struct
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import mytorch.datasets.mnist as mnist_module
from mytorch.datasets import (
    FASHION_MNIST_CLASSES,
    Dataset,
    load_csv,
    load_dataset,
    load_digits_default,
    load_fashion_mnist,
    load_mnist,
    load_npz,
    read_idx,
)


def _shared_data_dir() -> Path:
    override = os.environ.get("MYTORCH_SHARED_DATA")
    if override:
        return Path(override)
    # tests/ -> repository -> its parent, where shared/ sits beside the repository.
    return Path(__file__).resolve().parents[2] / "shared" / "data"


FASHION_DIR = _shared_data_dir() / "fashion-mnist"
needs_fashion = pytest.mark.skipif(
    not FASHION_DIR.is_dir(),
    reason=f"real Fashion-MNIST folder {FASHION_DIR} is absent (set MYTORCH_SHARED_DATA)",
)

STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Serialise ``array`` as IDX by hand (independent of the reader under test)."""
    big_endian = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian[type_code]).tobytes()


def write(path: Path, data: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_fake_mnist(folder: Path, n_train: int = 6, n_test: int = 4, compress: bool = True):
    """Write four small, valid MNIST-format files; return the arrays they hold."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        name = f"{stem}.gz" if compress else stem
        write(folder / name, idx_bytes(array), compress=compress)
    return arrays


# --- read_idx on files the tests write ----------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_raw_and_gzip_images_and_labels(tmp_path, compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([3, 1], dtype=np.uint8)
    image_file = write(tmp_path / "images", idx_bytes(images), compress)
    label_file = write(tmp_path / "labels", idx_bytes(labels), compress)
    out = read_idx(image_file, ndim=3)
    np.testing.assert_array_equal(out, images)
    assert out.dtype == np.uint8 and out.flags.writeable
    np.testing.assert_array_equal(read_idx(str(label_file)), labels)


@pytest.mark.parametrize(
    ("type_code", "dtype"),
    [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_read_idx_decodes_big_endian_types_to_native_order(tmp_path, type_code, dtype):
    values = np.array([[-2, 1], [300 if dtype != np.int8 else 100, -7]]).astype(dtype)
    path = write(tmp_path / "data.idx", idx_bytes(values, type_code))
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    labels = np.array([1, 2, 3], dtype=np.uint8)
    path = write(tmp_path / "labels.idx1-ubyte", idx_bytes(labels), compress=True)
    np.testing.assert_array_equal(read_idx(path), labels)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data_raises_value_error_naming_the_file(tmp_path, compress):
    data = idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8))[:-100]
    path = write(tmp_path / "short.idx", data, compress)
    with pytest.raises(ValueError, match=r"read_idx: .*short\.idx is truncated.*\(5, 28, 28\)"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_extra_bytes_after_the_data_raise(tmp_path, compress):
    data = idx_bytes(np.zeros(4, dtype=np.uint8)) + b"\x00\x01"
    path = write(tmp_path / "long.idx", data, compress)
    with pytest.raises(ValueError, match=r"long\.idx has extra bytes"):
        read_idx(path)


def test_truncated_header_raises(tmp_path):
    path = write(tmp_path / "head.idx", bytes([0, 0, 8, 3]) + struct.pack(">I", 10))
    with pytest.raises(ValueError, match=r"head\.idx is truncated: its header ends inside"):
        read_idx(path)


def test_truncated_gzip_stream_raises_value_error(tmp_path):
    compressed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8) % 7))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz is not a valid gzip file"):
        read_idx(path)


@pytest.mark.parametrize(
    "magic", [b"\x12\x34\x08\x03", b"\x00\x00\x07\x01", b"\x89PNG", b"\x00\x01\x08\x01"]
)
@pytest.mark.parametrize("compress", [False, True])
def test_wrong_magic_raises_value_error(tmp_path, magic, compress):
    path = write(tmp_path / "bad.idx", magic + struct.pack(">I", 1) + b"\x00", compress)
    with pytest.raises(ValueError, match=r"bad\.idx is not an IDX file: magic number 0x"):
        read_idx(path)


def test_wrong_dimension_count_raises(tmp_path):
    path = write(tmp_path / "images.idx", idx_bytes(np.zeros((2, 3, 3), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"images\.idx has 3 dimensions .*expected 1"):
        read_idx(path, ndim=1)
    zero_dims = write(tmp_path / "scalar.idx", bytes([0, 0, 8, 0]) + b"\x05")
    with pytest.raises(ValueError, match="declares 0 dimensions"):
        read_idx(zero_dims)


@pytest.mark.parametrize("compress", [False, True])
def test_huge_declared_sizes_raise_before_allocating(tmp_path, compress):
    # A header claiming (2**32 - 1)**3 bytes must fail on the size check, not MemoryError.
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    path = write(tmp_path / "huge.idx", header + b"\x00" * 16, compress)
    with pytest.raises(ValueError, match=r"huge\.idx"):
        read_idx(path)


def test_sizes_that_do_not_match_the_data_raise(tmp_path):
    header = bytes([0, 0, 8, 2]) + struct.pack(">2I", 3, 4)
    path = write(tmp_path / "sizes.idx", header + b"\x00" * 10)
    with pytest.raises(ValueError, match=r"shape \(3, 4\) of uint8 \(12 data bytes\).* 10 bytes"):
        read_idx(path)


def test_empty_and_missing_files_raise(tmp_path):
    empty = write(tmp_path / "empty.idx", b"")
    with pytest.raises(ValueError, match=r"empty\.idx is empty"):
        read_idx(empty)
    with pytest.raises(ValueError, match=r"empty\.gz"):
        read_idx(write(tmp_path / "empty.gz", b"", compress=True))
    with pytest.raises(FileNotFoundError, match=r"no such file: .*nothing\.idx"):
        read_idx(tmp_path / "nothing.idx")


def test_sha256_of_uncompressed_content_is_checked(tmp_path):
    data = idx_bytes(np.array([1, 2, 3], dtype=np.uint8))
    path = write(tmp_path / "labels.gz", data, compress=True)
    np.testing.assert_array_equal(
        read_idx(path, sha256=hashlib.sha256(data).hexdigest()), [1, 2, 3]
    )
    with pytest.raises(ValueError, match=r"labels\.gz failed its integrity check"):
        read_idx(path, sha256="0" * 64)


# --- the real Fashion-MNIST ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fashion_raw():
    """Fashion-MNIST as uint8 (N, 28, 28), read once for the module (hash-checked)."""
    return load_fashion_mnist(FASHION_DIR, flatten=False, dtype=np.uint8)


@needs_fashion
def test_real_fashion_mnist_has_the_documented_counts_shapes_and_labels(fashion_raw):
    X_train, y_train, X_test, y_test = fashion_raw
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert y_train.dtype == np.int64
    # Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert X_train.max() == 255 and X_train.min() == 0
    assert len(FASHION_MNIST_CLASSES) == 10


@needs_fashion
def test_real_fashion_mnist_files_match_the_sha256_table_of_its_readme():
    readme = (FASHION_DIR.parent / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"\|\s*(\S+)\.gz\s*\|\s*([0-9a-f]{64})\s*\|", readme))
    assert set(table) == set(STEMS)
    # The library's own table must be the README's.
    assert mnist_module._FASHION_MNIST.content_sha256 == table
    for stem, expected in table.items():
        with gzip.open(FASHION_DIR / f"{stem}.gz", "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == expected


@needs_fashion
def test_real_fashion_mnist_through_load_dataset_scales_to_unit_float32(fashion_raw):
    data = load_dataset("fashion-mnist", root=FASHION_DIR, dtype=np.float32)
    assert isinstance(data, Dataset) and data.name == "fashion-mnist"
    assert data.X_train.shape == (60000, 784) and data.X_train.dtype == np.float32
    assert data.n_classes == 10 and data.classes[9] == "Ankle boot"
    assert data.n_features == 784
    np.testing.assert_array_equal(data.X_test, fashion_raw[2].reshape(10000, 784) / np.float32(255))
    np.testing.assert_array_equal(data.y_test, fashion_raw[3])


@needs_fashion
def test_corrupted_fashion_mnist_copy_fails_the_hash_check(tmp_path):
    for stem in STEMS:
        if stem != "t10k-labels-idx1-ubyte":
            (tmp_path / f"{stem}.gz").symlink_to(FASHION_DIR / f"{stem}.gz")
    with gzip.open(FASHION_DIR / "t10k-labels-idx1-ubyte.gz", "rb") as handle:
        content = bytearray(handle.read())
    content[-1] = (content[-1] + 1) % 10  # still a valid IDX file, just different labels
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(content))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte failed its integrity check"):
        load_fashion_mnist(tmp_path, dtype=np.uint8)


# --- MNIST-format loading from a directory, and errors -------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_load_mnist_reads_a_directory_of_idx_files_gzip_or_raw(tmp_path, compress):
    arrays = write_fake_mnist(tmp_path, compress=compress)
    X_train, y_train, X_test, y_test = load_mnist(tmp_path)
    assert X_train.shape == (6, 784) and X_train.dtype == np.float64
    np.testing.assert_allclose(X_train * 255, arrays["train-images-idx3-ubyte"].reshape(6, 784))
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])
    assert y_train.dtype == np.int64
    X_train, _, _, _ = load_mnist(tmp_path, flatten=False, dtype=np.float32)
    assert X_train.shape == (6, 28, 28) and X_train.dtype == np.float32
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0


def test_missing_directory_error_lists_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path / "nowhere")
    message = str(info.value)
    assert "load_mnist" in message and "does not exist" in message
    for stem in STEMS:
        assert stem in message
    assert "download=True" in message


def test_partly_missing_directory_names_the_missing_file(tmp_path):
    write_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        load_fashion_mnist(tmp_path)


def test_mismatched_image_and_label_counts_raise(tmp_path):
    write_fake_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(5, np.uint8)), compress=True)
    with pytest.raises(ValueError, match="has 6 images but .* has 5 labels"):
        load_mnist(tmp_path)


def test_labels_outside_0_to_9_and_wrong_image_size_raise(tmp_path):
    write_fake_mnist(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.full(4, 12, np.uint8)), True)
    with pytest.raises(ValueError, match="holds label 12, expected 0-9"):
        load_mnist(tmp_path)
    write_fake_mnist(tmp_path)
    write(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(np.zeros((4, 8, 8), np.uint8)), True)
    with pytest.raises(ValueError, match=r"images of shape \(8, 8\), expected \(28, 28\)"):
        load_mnist(tmp_path)


def test_labels_file_with_image_dimensions_raises(tmp_path):
    write_fake_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros((6, 2), np.uint8)), True)
    with pytest.raises(ValueError, match="has 2 dimensions .*expected 1"):
        load_mnist(tmp_path)


def test_bad_dtype_raises_type_error(tmp_path):
    write_fake_mnist(tmp_path)
    with pytest.raises(TypeError, match="load_mnist: expected dtype float32 or float64"):
        load_mnist(tmp_path, dtype=np.int32)


# --- downloads, with a fake fetcher (no network) -----------------------------------------


@pytest.fixture
def fake_fetcher(monkeypatch):
    """Replace the network call; record calls; serve small valid MNIST-format files."""
    rng = np.random.default_rng(1)
    calls = []
    failing_mirrors: set[str] = set()

    def fetch(url, directory, file_name, md5):
        calls.append((url, Path(directory), file_name, md5))
        if any(url.startswith(mirror) for mirror in failing_mirrors):
            raise OSError("mirror unavailable")
        n_items = 6 if file_name.startswith("train") else 4
        if "images" in file_name:
            array = rng.integers(0, 256, (n_items, 28, 28), dtype=np.uint8)
        else:
            array = rng.integers(0, 10, n_items, dtype=np.uint8)
        write(Path(directory) / file_name, idx_bytes(array), compress=True)

    monkeypatch.setattr(mnist_module, "_download_file", fetch)
    fetch.calls = calls
    fetch.failing_mirrors = failing_mirrors
    return fetch


def test_download_fetches_missing_files_with_official_md5s_then_reuses_them(tmp_path, fake_fetcher):
    root = tmp_path / "new" / "mnist"
    X_train, y_train, X_test, y_test = load_mnist(root, download=True)
    assert X_train.shape == (6, 784) and X_test.shape == (4, 784)
    assert sorted(call[2] for call in fake_fetcher.calls) == sorted(f"{s}.gz" for s in STEMS)
    first_mirror = mnist_module._MNIST.mirrors[0]
    for url, directory, file_name, md5 in fake_fetcher.calls:
        assert url == first_mirror + file_name and directory == root
        assert md5 == mnist_module._MNIST.gzip_md5[file_name[:-3]]
    assert mnist_module._MNIST.gzip_md5["train-images-idx3-ubyte"] == (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    )
    load_mnist(root, download=True)
    assert len(fake_fetcher.calls) == 4  # nothing fetched again


def test_download_only_fetches_what_is_missing(tmp_path, fake_fetcher):
    write_fake_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    load_mnist(tmp_path, download=True)
    assert [call[2] for call in fake_fetcher.calls] == ["train-images-idx3-ubyte.gz"]


def test_download_falls_back_to_the_next_mirror(tmp_path, fake_fetcher):
    fake_fetcher.failing_mirrors.add(mnist_module._MNIST.mirrors[0])
    load_mnist(tmp_path, download=True)
    used = {call[0].rsplit("/", 1)[0] + "/" for call in fake_fetcher.calls}
    assert used == set(mnist_module._MNIST.mirrors[:2])


def test_download_failing_on_every_mirror_raises_oserror_listing_them(tmp_path, fake_fetcher):
    fake_fetcher.failing_mirrors.update(mnist_module._MNIST.mirrors)
    with pytest.raises(OSError, match="could not download train-images-idx3-ubyte.gz") as info:
        load_mnist(tmp_path, download=True)
    for mirror in mnist_module._MNIST.mirrors:
        assert mirror in str(info.value)


def test_downloaded_fashion_mnist_with_wrong_content_fails_the_sha256_check(tmp_path, fake_fetcher):
    with pytest.raises(ValueError, match="failed its integrity check"):
        load_fashion_mnist(tmp_path, download=True)
    assert fake_fetcher.calls[0][3] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"


def test_download_uses_pooch_retrieve_with_the_md5(tmp_path, monkeypatch):
    calls = []

    def retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash, fname, Path(path), progressbar))
        labels = np.zeros(6 if fname.startswith("train") else 4, np.uint8)
        images = np.zeros((len(labels), 28, 28), np.uint8)
        data = idx_bytes(images if "images" in fname else labels)
        write(Path(path) / fname, data, compress=True)
        return str(Path(path) / fname)

    monkeypatch.setitem(sys.modules, "pooch", types.SimpleNamespace(retrieve=retrieve))
    load_mnist(tmp_path, download=True)
    assert len(calls) == 4
    url, known_hash, fname, path, progressbar = calls[0]
    assert known_hash == "md5:" + mnist_module._MNIST.gzip_md5[fname[:-3]]
    assert url.endswith(fname) and path == tmp_path and progressbar is False


def test_download_without_pooch_says_which_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)
    with pytest.raises(ImportError, match=r"pip install mytorch\[cli\]"):
        load_mnist(tmp_path, download=True)


def test_load_dataset_finds_mnist_under_mytorch_data(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "mnist")
    monkeypatch.setenv("MYTORCH_DATA", str(tmp_path))
    data = load_dataset("MNIST", dtype=np.float32, flatten=False)
    assert data.name == "mnist" and data.X_train.shape == (6, 28, 28)
    assert data.classes == tuple("0123456789")


# --- digits, CSV, npz, load_dataset ---------------------------------------------------------


def test_digits_default_is_1797_samples_of_64_features_in_unit_range():
    X, y = load_digits_default()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    assert load_digits_default(dtype=np.float32)[0].dtype == np.float32


def test_digits_without_sklearn_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"scikit-learn.*pip install mytorch\[cli\]"):
        load_digits_default()


def test_load_dataset_digits_gives_a_reproducible_stratified_split():
    data = load_dataset("digits")
    again = load_dataset("digits")
    assert data.X_train.shape == (1437, 64) and data.X_test.shape == (360, 64)
    assert data.n_classes == 10 and data.name == "digits"
    np.testing.assert_array_equal(data.y_test, again.y_test)
    assert np.all(np.bincount(data.y_test) >= 35)
    assert "digits" in repr(data)


def test_load_csv_with_inferred_header_and_label_column_name(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,label,b\n1.5,0,2\n-1,2,3e1\n\n4,1,5\n", encoding="utf-8")
    X, y = load_csv(path, label_column="label")
    np.testing.assert_array_equal(X, [[1.5, 2.0], [-1.0, 30.0], [4.0, 5.0]])
    np.testing.assert_array_equal(y, [0, 2, 1])
    assert X.dtype == np.float64 and y.dtype == np.int64


def test_load_csv_without_header_uses_the_last_column_by_default(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("1;2;0\n3;4;1.0\n", encoding="utf-8")
    X, y = load_csv(path, delimiter=";", dtype=np.float32)
    assert X.dtype == np.float32 and X.shape == (2, 2)
    np.testing.assert_array_equal(y, [0, 1])
    X, y = load_csv(path, label_column=0, delimiter=";", header=False)
    np.testing.assert_array_equal(y, [1, 3])


def test_load_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n1,2,0\n3,oops,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cell 'oops' at line 3, column 1 \('y'\) of .*bad\.csv"):
        load_csv(path)


def test_load_csv_missing_label_column_lists_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y,label\n1,2,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"no column named 'target'; its columns are \['x'"):
        load_csv(path, label_column="target")
    with pytest.raises(ValueError, match="label_column=5 is out of range"):
        load_csv(path, label_column=5)
    headerless = tmp_path / "h.csv"
    headerless.write_text("1,2,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is a name but .* has no header row"):
        load_csv(headerless, label_column="label")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "has no rows"),
        ("a,b\n", "has a header but no data rows"),
        ("1,2,0\n1,2\n", "line 2 of .* has 2 cells, expected 3"),
        ("1,2,0.5\n", "whole-number class indices"),
        ("1,2,-1\n", r"class indices >= 0"),
        ("1,nan,0\n", "NaN"),
        ("1\n2\n", "expected features and a label column"),
    ],
)
def test_load_csv_rejects_malformed_tables(tmp_path, content, message):
    path = tmp_path / "m.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_csv(path)


def test_load_npz_round_trip_and_errors(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([0, 1, 1, 0], dtype=np.uint8)
    np.savez(tmp_path / "good.npz", X=X, y=y)
    X_out, y_out = load_npz(tmp_path / "good.npz")
    np.testing.assert_array_equal(X_out, X)
    assert X_out.dtype == np.float64 and y_out.dtype == np.int64
    np.savez(tmp_path / "keys.npz", features=X, y=y)
    with pytest.raises(ValueError, match=r"no array named 'X'; it holds \['features', 'y'\]"):
        load_npz(tmp_path / "keys.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object), y=y[:1])
    with pytest.raises(ValueError, match="object \\(pickled\\) arrays"):
        load_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "len.npz", X=X, y=y[:3])
    with pytest.raises(ValueError, match="has 4 samples but y has 3 labels"):
        load_npz(tmp_path / "len.npz")
    (tmp_path / "fake.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not an .npz archive"):
        load_npz(tmp_path / "fake.npz")


def test_load_dataset_dispatches_csv_and_npz_paths(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.repeat([0, 1, 2, 3], 10)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    rows = "\n".join(
        ",".join(f"{v:.17g}" for v in row) + f",{label}" for row, label in zip(X, y, strict=True)
    )
    (tmp_path / "d.csv").write_text(rows + "\n", encoding="utf-8")
    from_npz = load_dataset("d.npz", root=tmp_path, test_fraction=0.25, rng=3)
    from_csv = load_dataset(str(tmp_path / "d.csv"), test_fraction=0.25, rng=3)
    for data in (from_npz, from_csv):
        assert data.X_train.shape == (30, 3) and data.X_test.shape == (10, 3)
        assert data.n_classes == 4 and data.classes == ("0", "1", "2", "3")
        assert set(np.bincount(data.y_test)) <= {2, 3}  # stratified: 2.5 per class
    np.testing.assert_array_equal(from_npz.X_test, from_csv.X_test)
    assert from_npz.name == "d.npz" and from_csv.name == "d.csv"


def test_load_dataset_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown data set 'cifar'; expected one of \['digits'"):
        load_dataset("cifar")


def test_importing_the_package_needs_only_numpy():
    code = (
        "import sys\n"
        "for name in ('sklearn', 'pooch', 'torch', 'scipy', 'matplotlib'):\n"
        "    sys.modules[name] = None\n"
        "import mytorch.datasets, mytorch.data, mytorch.preprocessing\n"
    )
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo, timeout=60)
