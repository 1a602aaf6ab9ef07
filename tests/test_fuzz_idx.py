"""Fuzzing ``read_idx``: random bytes and mutated valid files never crash, hang or balloon.

The only documented error is ``ValueError`` (with ``FileNotFoundError`` for a missing
path). Whatever the bytes, ``read_idx`` must either return the array its header
declares or raise ``ValueError`` -- never ``EOFError``, ``zlib.error``, ``OSError``,
``MemoryError``, ``IndexError``... -- and must do so quickly, without allocating what a
corrupt header claims (a header may claim 2^32 - 1 items per axis).

The files are tiny (a few dozen bytes), so thousands of cases run in a few seconds;
``test_fuzz_case_count`` reports how many ran (at least 4,000).
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FUZZ, ram_scratch_dir
from hypothesis import given, settings
from hypothesis import strategies as st

from mytorch.datasets.idx import read_idx

TYPE_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
#: A single call may take this long at most (a hang or a huge read would take far longer).
SECONDS_PER_CALL = 2.0
#: Peak memory may grow by this much over the whole fuzz run.
MAX_GROWTH_MB = 200
# conftest's fixture checks that the module's cases together stay under MAX_GROWTH_MB.
pytestmark = pytest.mark.usefixtures("peak_memory_stays_small")

_scratch = ram_scratch_dir("mytorch-fuzz-idx-")
PATH = Path(_scratch.name) / "data.idx"
COUNT = {"random": 0, "mutated": 0, "huge header": 0, "returned": 0, "rejected": 0}


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """The IDX encoding of ``array`` with element type ``code``."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(TYPE_CODES[code]).tobytes()


def valid_file(rng: np.random.Generator) -> tuple[bytes, np.ndarray]:
    """A small valid IDX file (any element type, 1 to 3 axes of 0 to 4) and its array."""
    code = int(rng.choice(sorted(TYPE_CODES)))
    shape = tuple(int(n) for n in rng.integers(0, 5, size=rng.integers(1, 4)))
    low = 0 if code == 0x08 else -100
    array = rng.integers(low, 101, size=shape).astype(np.float64)
    return idx_bytes(array, code), array


# Mutations of a file's bytes, in place; ``rng`` picks where and what.
def flip(data: bytearray, rng: np.random.Generator) -> None:
    if data:
        data[rng.integers(len(data))] ^= int(rng.integers(1, 256))


def insert(data: bytearray, rng: np.random.Generator) -> None:
    at = int(rng.integers(len(data) + 1))
    data[at:at] = rng.bytes(int(rng.integers(1, 9)))


def delete(data: bytearray, rng: np.random.Generator) -> None:
    if data:
        at = int(rng.integers(len(data)))
        del data[at : at + int(rng.integers(1, 9))]


def truncate(data: bytearray, rng: np.random.Generator) -> None:
    del data[int(rng.integers(len(data) + 1)) :]


def huge_size(data: bytearray, rng: np.random.Generator) -> None:
    """Set one dimension size in the header to a huge value (up to 2^32 - 1)."""
    if len(data) >= 8:
        n_dims = max(1, min(data[3], (len(data) - 4) // 4))
        axis = int(rng.integers(n_dims))
        size = int(rng.choice([2**31, 2**32 - 1, 2**24, 10**9, rng.integers(2**20, 2**32)]))
        data[4 + 4 * axis : 8 + 4 * axis] = struct.pack(">I", size)


def header_byte(data: bytearray, rng: np.random.Generator) -> None:
    """Change the type byte or the number of dimensions."""
    if len(data) >= 4:
        data[int(rng.choice([2, 3]))] = int(rng.integers(256))


MUTATIONS = [flip, insert, delete, truncate, huge_size, header_byte]


def read(data: bytes, **options) -> np.ndarray | None:
    """``read_idx`` on ``data``: the array, or None after a ValueError; anything else fails."""
    PATH.write_bytes(data)
    started = time.perf_counter()
    try:
        array = read_idx(PATH, **options)
    except ValueError as error:
        COUNT["rejected"] += 1
        assert "read_idx: " in str(error), f"unhelpful message: {error}"
        array = None
    else:
        COUNT["returned"] += 1
        assert isinstance(array, np.ndarray) and array.dtype.isnative
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS_PER_CALL, f"read_idx took {elapsed:.1f} s on {len(data)} bytes"
    return array


def expected_from_header(data: bytes) -> tuple[tuple[int, ...], np.dtype]:
    n_dims = data[3]
    shape = struct.unpack(f">{n_dims}I", data[4 : 4 + 4 * n_dims])
    return shape, np.dtype(TYPE_CODES[data[2]]).newbyteorder("=")


@FUZZ
@given(data=st.binary(max_size=64), compress=st.booleans(), ndim=st.none() | st.integers(1, 3))
def test_random_bytes_give_an_array_or_a_value_error(data, compress, ndim):
    COUNT["random"] += 1
    raw = gzip.compress(data, mtime=0) if compress else data
    array = read(raw, ndim=ndim)
    if array is not None:  # random bytes that happen to form a valid file
        shape, dtype = expected_from_header(data)
        assert array.shape == shape and array.dtype == dtype


@FUZZ
@given(seed=st.integers(0, 2**64 - 1))
def test_mutated_valid_files_give_the_declared_array_or_a_value_error(seed):
    """One seed drives everything (cheap to draw, and a failure reports it)."""
    COUNT["mutated"] += 1
    rng = np.random.default_rng(seed)
    original, values = valid_file(rng)
    mutated = bytearray(original)
    for _ in range(rng.integers(0, 4)):
        MUTATIONS[rng.integers(len(MUTATIONS))](mutated, rng)
    compress = bool(rng.integers(2))
    if compress and rng.integers(2):
        # Damage the gzip stream itself, not only its content.
        raw = bytearray(gzip.compress(bytes(mutated), mtime=0))
        [flip, truncate, delete, insert][rng.integers(4)](raw, rng)
        raw = bytes(raw)
    else:
        raw = gzip.compress(bytes(mutated), mtime=0) if compress else bytes(mutated)
    check_hash = bool(rng.integers(2))
    sha256 = hashlib.sha256(original).hexdigest() if check_hash else None
    array = read(raw, sha256=sha256)
    if array is None:
        return
    if check_hash or bytes(mutated) == original:
        # The hash (or no change at all) guarantees the original content.
        np.testing.assert_array_equal(array, values)
    else:
        shape, dtype = expected_from_header(bytes(mutated))
        assert array.shape == shape and array.dtype == dtype


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.sampled_from([2**31, 2**32 - 1, 65536, 10**9]), min_size=1, max_size=4),
    code=st.sampled_from(sorted(TYPE_CODES)),
    compress=st.booleans(),
    payload=st.binary(max_size=32),
)
def test_a_header_claiming_billions_of_items_fails_fast_without_allocating(
    sizes, code, compress, payload
):
    COUNT["huge header"] += 1
    header = bytes([0, 0, code, len(sizes)]) + struct.pack(f">{len(sizes)}I", *sizes)
    raw = header + payload
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"read_idx: .*(truncated|corrupt header|declares)"):
        read_idx_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    # Allocating what the header claims would take tens of seconds or fail; the bound is
    # loose so that a busy machine cannot make it flaky.
    assert time.perf_counter() - started < 5


def read_idx_bytes(raw: bytes) -> np.ndarray:
    PATH.write_bytes(raw)
    return read_idx(PATH)


def test_an_empty_axis_beside_huge_ones_is_a_corrupt_header():
    """Found by the fuzzer: 0 data bytes fit shape (0, 2^32 - 1, 2^32 - 1), NumPy does not."""
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 0, 2**32 - 1, 2**32 - 1)
    with pytest.raises(ValueError, match=r"read_idx: .* corrupt header: shape \(0, 4294967295"):
        read_idx_bytes(header)


def test_a_gzip_bomb_within_the_ratio_limit_is_read_in_bounded_chunks():
    """A small gzip file that inflates to far more than its header declares is rejected."""
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10)
    raw = gzip.compress(header + bytes(50_000_000), mtime=0)  # 50 MB of zeros, ~50 kB packed
    started = time.perf_counter()
    with pytest.raises(ValueError, match="has extra bytes"):
        read_idx_bytes(raw)
    assert time.perf_counter() - started < 5


def test_fuzz_case_count():
    """At least 4,000 fuzz cases ran (printed with ``pytest -s``)."""
    total = COUNT["random"] + COUNT["mutated"] + COUNT["huge header"]
    print(f"\nIDX fuzz cases: {COUNT}, total {total}")
    if COUNT["random"] == 0:
        pytest.skip("run with the fuzz tests above to count them")
    assert total >= 4000
